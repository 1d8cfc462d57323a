"""The one base for every organization-scoped API view.

It resolves the organization once (apps.organizations.tenancy), checks role or API-key scope
(apps.organizations.permissions) and hands `self.organization` to the view. Generic views set
`model = ...` and get `Model.objects.for_org(self.organization)` as their queryset; they do not write
their own organization filters.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import generics, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.organizations.models import Organization
from apps.organizations.permissions import OrganizationRolePermission
from apps.organizations.tenancy import TenantContext, resolve_tenant


class OrganizationScopedMixin:
    permission_classes: Any = [IsAuthenticated, OrganizationRolePermission]
    model: type[Model] | None = None
    required_roles: dict[str, Any] = {}
    required_scopes: dict[str, str] = {}
    tenant: TenantContext
    organization: Organization

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Authenticate first (DRF does it lazily), then resolve the tenant before permissions run.
        self.perform_authentication(request)  # type: ignore[attr-defined]
        if request.user and request.user.is_authenticated:
            self.tenant = resolve_tenant(request._request, request.auth)
            self.organization = self.tenant.organization
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def get_queryset(self) -> QuerySet[Any]:
        assert self.model is not None, f"{type(self).__name__} must set `model`."
        return self.model.objects.for_org(self.organization)  # type: ignore[attr-defined]

    def get_serializer_context(self) -> dict[str, Any]:
        context: dict[str, Any] = super().get_serializer_context()  # type: ignore[misc]
        context["organization"] = getattr(self, "organization", None)
        return context


class OrganizationAPIView(OrganizationScopedMixin, APIView):
    """One operation on an organization's data."""

    def get_serializer_context(self) -> dict[str, Any]:
        return {"request": self.request, "view": self, "organization": getattr(self, "organization", None)}


class OrganizationGenericAPIView(OrganizationScopedMixin, generics.GenericAPIView):  # type: ignore[type-arg]
    pass


class OrganizationViewSet(OrganizationScopedMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    pass


class OrganizationModelViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):  # type: ignore[type-arg]
    pass
