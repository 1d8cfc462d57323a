"""Organizations (tenants), memberships with roles, and invitations."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from common.core.models import BaseModel, OrgScopedManager, OrgScopedQuerySet


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"

    @property
    def rank(self) -> int:
        return {"member": 1, "admin": 2, "owner": 3}[self.value]

    def at_least(self, other: Role) -> bool:
        return self.rank >= Role(other).rank


class Organization(BaseModel):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    # Quotas (None = the deployment default from settings)
    max_documents = models.PositiveIntegerField(null=True, blank=True)
    max_document_bytes = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class MembershipManager(OrgScopedManager[Any]):
    def for_user(self, user: Any) -> OrgScopedQuerySet[Any]:
        """A user's memberships across organizations: the named entry for this deliberate cross-org read."""
        return self.unscoped().filter(user=user)


class Membership(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    objects: MembershipManager = MembershipManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="uniq_membership")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} as {self.role}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class Invitation(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        indexes = [models.Index(fields=["organization", "email"])]

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class AuditEvent(BaseModel):
    """What an admin did: who (user, API key, visitor or system job; IP and request id), what, on which object.
    Written by apps.organizations.audit.audit_record, read in the UI."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_events")
    actor_kind = models.CharField(max_length=10, blank=True, default="")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_key_id = models.UUIDField(null=True, blank=True)  # the API key that acted (kept after the key goes)
    actor_label = models.CharField(max_length=120, blank=True, default="")  # who, readable after deletions
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects: OrgScopedManager[Any] = OrgScopedManager()

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"])]
