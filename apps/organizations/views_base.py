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
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.organizations.actors import Actor
from apps.organizations.models import Organization
from apps.organizations.permissions import OrganizationRolePermission
from apps.organizations.tenancy import request_actor, request_identity
from apps.users.models import User
from common.core.errors import PermissionDeniedError


class OrganizationScopedMixin:
    permission_classes: Any = [IsAuthenticated, OrganizationRolePermission]
    model: type[Model] | None = None
    required_roles: dict[str, Any] = {}
    required_scopes: dict[str, str] = {}
    # (restriction kind, field): an API key restricted to some bots / collections sees only rows whose
    # `field` is one of them, e.g. ("bot", "pk") for bots, ("bot", "bot_id") for conversations.
    restricted_by: tuple[str, str] | None = None
    actor: Actor
    organization: Organization

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Authenticate first (DRF does it lazily), then resolve the tenant before permissions run.
        self.perform_authentication(request)  # type: ignore[attr-defined]
        if request.user and request.user.is_authenticated:
            self.actor = request_actor(request._request, request.auth)
            assert self.actor.organization is not None
            self.organization = self.actor.organization
        super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(); declare `restricted_by` and put extra filters in "
                "scope_queryset() so the organization filter cannot be lost."
            )

    def get_queryset(self) -> QuerySet[Any]:
        """The view's model in this organization, narrowed to what the actor's API key is restricted to."""
        assert self.model is not None, f"{type(self).__name__} must set `model`."
        queryset = self.model.objects.for_org(self.organization)  # type: ignore[attr-defined]
        if self.restricted_by is not None:
            kind, field = self.restricted_by
            allowed = self.actor.restricted_ids(kind)
            if allowed is not None:
                queryset = queryset.filter(**{f"{field}__in": allowed})
        return self.scope_queryset(queryset)

    def scope_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """The one hook for extra filters and ordering (query parameters, select_related ...)."""
        return queryset

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


class UserAPIView(APIView):
    """A user-level operation with no organization context: `self.actor` is the caller (anonymous when the
    view allows it); API keys, which belong to an organization and not to a person, are refused."""

    actor: Actor

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.perform_authentication(request)
        self.actor = request_identity(request._request, request.auth)
        if self.actor.is_api_key:
            raise PermissionDeniedError("API keys cannot use this endpoint; sign in.")
        super().initial(request, *args, **kwargs)

    def signed_in_user(self) -> User:
        """The signed-in user (views that call this require authentication)."""
        if self.actor.user is None:
            raise NotAuthenticated()
        return self.actor.user
