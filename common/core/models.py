"""Base models and the organization-scoped manager every tenant-owned model uses."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models

if TYPE_CHECKING:
    from django.db.models import Model

_M = TypeVar("_M", bound="Model")


class BaseModel(models.Model):
    """UUID primary key and creation/update timestamps."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OrgScopedQuerySet(models.QuerySet[_M]):
    """QuerySet whose normal entry point requires an organization."""

    def for_org(self, organization: Any) -> OrgScopedQuerySet[_M]:
        if organization is None:
            raise ValueError("for_org() needs an organization; use unscoped() for a deliberate cross-org query.")
        org_id = getattr(organization, "pk", organization)
        return self.filter(organization_id=org_id)


class OrgScopedManager(models.Manager[_M]):
    """`Model.objects.for_org(org)` is the way to read; `Model.objects.unscoped()` stands out in review."""

    def get_queryset(self) -> OrgScopedQuerySet[_M]:
        return OrgScopedQuerySet(self.model, using=self._db)

    def for_org(self, organization: Any) -> OrgScopedQuerySet[_M]:
        return self.get_queryset().for_org(organization)

    def unscoped(self) -> OrgScopedQuerySet[_M]:
        return self.get_queryset()


class OrgScopedModel(BaseModel):
    """A tenant-owned row: every one carries its organization."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="+")

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        abstract = True
