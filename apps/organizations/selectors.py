"""Reads on organizations, memberships and invitations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone

from apps.organizations.models import AuditEvent, Invitation, Membership, Organization
from apps.users.models import User
from common.core.errors import NotFound
from common.security.tokens import token_hash


def organization_list_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.for_user(user).select_related("organization").order_by("created_at")


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.for_org(organization).select_related("user").order_by("created_at")


def member_get(*, organization: Organization, membership_id: UUID | str) -> Membership:
    membership = (
        Membership.objects.for_org(organization).select_related("user", "organization").filter(pk=membership_id).first()
    )
    if membership is None:
        raise NotFound("Member not found.")
    return membership


def invitation_list_pending(*, organization: Organization) -> QuerySet[Invitation]:
    return (
        Invitation.objects.for_org(organization)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_get(*, organization: Organization, invitation_id: UUID | str) -> Invitation:
    invitation = (
        Invitation.objects.for_org(organization).select_related("organization").filter(pk=invitation_id).first()
    )
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation


def invitation_find_by_token(*, token: str) -> Invitation | None:
    """The invitation a link points to (any state), for the accept page. The token names the organization."""
    if not token or len(token) > 200:
        return None
    return (
        Invitation.objects.unscoped()
        .select_related("organization", "invited_by")
        .filter(token_hash=token_hash(token))
        .first()
    )


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log is narrowed to; every field is optional."""

    action: str = ""  # an AuditAction value, or a prefix with a dot ("document.")
    actor_kind: str = ""  # user, api_key, visitor, system
    who: str = ""  # words of the actor's label (an email, "dk_…")
    start: date | None = None  # first UTC day, inclusive
    end: date | None = None  # last UTC day, inclusive


def audit_event_list(*, organization: Organization, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The organization's audit events, newest first, narrowed by `filters`."""
    events = AuditEvent.objects.for_org(organization).order_by("-created_at", "-pk")
    if filters.action.endswith("."):
        events = events.filter(action__startswith=filters.action)
    elif filters.action:
        events = events.filter(action=filters.action)
    if filters.actor_kind:
        events = events.filter(actor_kind=filters.actor_kind)
    if filters.who:
        events = events.filter(actor_label__icontains=filters.who)
    if filters.start:
        events = events.filter(created_at__gte=datetime.combine(filters.start, time.min, tzinfo=UTC))
    if filters.end:
        events = events.filter(created_at__lt=datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=UTC))
    return events
