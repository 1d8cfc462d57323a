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


class UnscopedQueryError(RuntimeError):
    """A tenant-owned model was read without naming an organization (see OrgScopedManager)."""


def tenancy_strict() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "TENANCY_STRICT", False))


class OrgScopedQuerySet(models.QuerySet[_M]):
    """QuerySet whose reads must say which organization they are for.

    `for_org(org)` scopes it; `unscoped()` (or a named entry such as `Membership.objects.for_user`) marks a
    deliberate cross-organization read; related managers (`bot.collections`, `conversation.messages`) are
    scoped by their parent row. With TENANCY_STRICT (DEBUG and the tests), evaluating a bare
    `Model.objects...` read raises UnscopedQueryError instead of silently reading every tenant. Writes
    (`create`, `bulk_create`) are not reads and need no scope.
    """

    _tenant_scoped = False

    def _clone(self) -> OrgScopedQuerySet[_M]:
        clone: OrgScopedQuerySet[_M] = super()._clone()  # type: ignore[misc]
        clone._tenant_scoped = self._tenant_scoped
        return clone

    def _scoped(self) -> OrgScopedQuerySet[_M]:
        clone = self._chain()  # type: ignore[attr-defined]
        clone._tenant_scoped = True
        return clone  # type: ignore[no-any-return]

    def for_org(self, organization: Any) -> OrgScopedQuerySet[_M]:
        if organization is None:
            raise ValueError("for_org() needs an organization; use unscoped() for a deliberate cross-org query.")
        org_id = getattr(organization, "pk", organization)
        return self._scoped().filter(organization_id=org_id)

    def unscoped(self) -> OrgScopedQuerySet[_M]:
        return self._scoped()

    def none(self) -> OrgScopedQuerySet[_M]:
        return self._scoped()._none()  # type: ignore[attr-defined,no-any-return]

    def _none(self) -> Any:
        return super().none()

    def _check_scope(self) -> None:
        if not self._tenant_scoped and tenancy_strict():
            raise UnscopedQueryError(
                f"{self.model.__name__}.objects was read without an organization: use .for_org(org), or "
                ".unscoped() for a deliberate cross-organization read."
            )

    def _fetch_all(self) -> None:
        if self._result_cache is None:  # type: ignore[has-type]
            self._check_scope()
        super()._fetch_all()  # type: ignore[misc]

    def iterator(self, *args: Any, **kwargs: Any) -> Any:
        self._check_scope()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        if self._result_cache is None:  # type: ignore[has-type]
            self._check_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:  # type: ignore[has-type]
            self._check_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._check_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._check_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._check_scope()
        return super().delete()


class OrgScopedManager(models.Manager[_M]):
    """`Model.objects.for_org(org)` is the way to read; `Model.objects.unscoped()` stands out in review."""

    def get_queryset(self) -> OrgScopedQuerySet[_M]:
        queryset: OrgScopedQuerySet[_M] = OrgScopedQuerySet(self.model, using=self._db)
        if getattr(self, "instance", None) is not None:  # a related manager: its parent row is the scope
            queryset._tenant_scoped = True
        return queryset

    def for_org(self, organization: Any) -> OrgScopedQuerySet[_M]:
        return self.get_queryset().for_org(organization)

    def unscoped(self) -> OrgScopedQuerySet[_M]:
        return self.get_queryset().unscoped()


class OrgScopedModel(BaseModel):
    """A tenant-owned row: every one carries its organization."""

    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="+")

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        abstract = True
