"""Writes on organizations, memberships and invitations. Every admin-visible change writes an AuditEvent."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify

from apps.organizations.actors import Actor
from apps.organizations.audit import AuditAction, audit_record
from apps.organizations.errors import (
    AccountExists,
    AlreadyInvited,
    AlreadyMember,
    InvalidInvitation,
    InvitationEmailMismatch,
    LastOwnerError,
    OrganizationLimitReached,
    RoleTooHigh,
)
from apps.organizations.models import Invitation, Membership, Organization, Role
from apps.users.emails import email_send_on_commit, site_link
from apps.users.models import User
from apps.users.services import normalize_email, user_create
from common.core.errors import PermissionDeniedError, ValidationFailed
from common.core.names import clean_display_name
from common.events import EventType, emit
from common.security.tokens import token_hash, token_issue

logger = logging.getLogger(__name__)

INVITATION_PREFIX = "inv_"


def _unique_slug(name: str) -> str:
    base = (slugify(name) or "org")[:50].strip("-") or "org"
    slug = base
    while Organization.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(6, 'abcdefghijklmnopqrstuvwxyz0123456789')}"
    return slug


@transaction.atomic
def organization_create(*, actor: Actor, name: str, name_field: str = "name") -> Organization:
    """A user creates an organization and becomes its owner, within ORGANIZATIONS_MAX_OWNED_PER_USER."""
    owner = actor.user
    assert owner is not None, "Only a user can own an organization."
    name = clean_display_name(name, field=name_field)
    if not name:
        raise ValidationFailed(details={name_field: ["This field may not be blank."]})
    # One user's concurrent creations queue on their row, so the count below cannot be overtaken.
    User.objects.select_for_update().filter(pk=owner.pk).first()
    limit = int(settings.ORGANIZATIONS_MAX_OWNED_PER_USER)
    owned = Membership.objects.unscoped().filter(user=owner, role=Role.OWNER).count()
    if owned >= limit:
        raise OrganizationLimitReached(
            f"You already own {owned} organizations, the most one account may own ({limit}). "
            "Delete one or hand its ownership to someone else first.",
            details={"owned": owned, "limit": limit},
        )
    for _attempt in range(3):
        try:
            with transaction.atomic():
                organization = Organization.objects.create(name=name, slug=_unique_slug(name))
            break
        except IntegrityError:  # a concurrent create took the slug
            continue
    else:  # pragma: no cover - three collisions in a row
        raise ValidationFailed(details={"name": ["Could not pick a unique address for this name; try another."]})
    membership = Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
    audit_record(
        actor=actor.in_organization(organization, membership),
        action=AuditAction.ORGANIZATION_CREATED,
        target=organization,
    )
    return organization


@transaction.atomic
def organization_update(*, organization: Organization, actor: Actor, name: str | None = None) -> Organization:
    changes: dict[str, Any] = {}
    name = clean_display_name(name) if name is not None else None
    if name and name != organization.name:
        changes["name"] = [organization.name, name]
        organization.name = name
        organization.save(update_fields=["name", "updated_at"])
    if changes:
        audit_record(
            actor=actor,
            organization=organization,
            action=AuditAction.ORGANIZATION_UPDATED,
            target=organization,
            data=changes,
        )
    return organization


@transaction.atomic
def organization_delete(*, organization: Organization, actor: Actor) -> None:
    """Delete the organization and everything it owns (cascades), audit log included: the deletion is logged."""
    logger.info(
        "organization deleted",
        extra={"organization_id": str(organization.pk), "actor": actor.describe(), "ip": actor.ip},
    )
    organization.delete()


def _member_payload(membership: Membership) -> dict[str, Any]:
    return {
        "membership_id": str(membership.pk),
        "user_id": str(membership.user_id),
        "email": membership.user.email,
        "role": membership.role,
    }


def _owners_locked(organization: Organization) -> list[Membership]:
    # Lock every owner row so two concurrent demotions cannot both pass the "another owner exists" check.
    return list(Membership.objects.for_org(organization).select_for_update().filter(role=Role.OWNER))


def _ensure_not_last_owner(membership: Membership) -> None:
    if membership.role != Role.OWNER:
        return
    owners = _owners_locked(membership.organization)
    if len([m for m in owners if m.pk != membership.pk]) == 0:
        raise LastOwnerError()


def _ensure_may_manage(*, actor: Actor, target_role: str, new_role: str | None = None) -> None:
    """Admins manage members and admins; only owners touch the owner role."""
    actor_role = actor.role
    if actor_role is None or not actor_role.at_least(Role.ADMIN):
        raise PermissionDeniedError("Managing members needs the admin role or higher.")
    if actor_role != Role.OWNER and (target_role == Role.OWNER or new_role == Role.OWNER):
        raise RoleTooHigh()


@transaction.atomic
def membership_change_role(*, membership: Membership, actor: Actor, role: str) -> Membership:
    role = Role(role)
    _ensure_may_manage(actor=actor, target_role=membership.role, new_role=role)
    if membership.role == role:
        return membership
    if role != Role.OWNER:
        _ensure_not_last_owner(membership)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        target=membership,
        data={"user": membership.user.email, "from": old, "to": role.value},
    )
    emit(EventType.MEMBER_ROLE_CHANGED, organization=membership.organization_id, payload=_member_payload(membership))
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor) -> None:
    _ensure_may_manage(actor=actor, target_role=membership.role)
    _ensure_not_last_owner(membership)
    audit_record(
        actor=actor,
        action=AuditAction.MEMBER_REMOVED,
        target=membership,
        data={"user": membership.user.email, "role": membership.role},
    )
    emit(EventType.MEMBER_REMOVED, organization=membership.organization_id, payload=_member_payload(membership))
    membership.delete()


@transaction.atomic
def membership_leave(*, actor: Actor) -> None:
    """The acting member leaves the organization (unless they are its last owner)."""
    membership = actor.membership
    assert membership is not None, "Only a member can leave."
    _ensure_not_last_owner(membership)
    audit_record(
        actor=actor,
        action=AuditAction.MEMBER_LEFT,
        target=membership,
        data={"user": membership.user.email},
    )
    emit(EventType.MEMBER_REMOVED, organization=membership.organization_id, payload=_member_payload(membership))
    membership.delete()


def _send_invitation(*, invitation: Invitation, plaintext: str, inviter: User | None) -> None:
    email_send_on_commit(
        to=invitation.email,
        subject=f"You are invited to {invitation.organization.name} on Docent",
        template="invitation",
        context={
            "inviter": (inviter.full_name or inviter.email) if inviter is not None else invitation.organization.name,
            "organization": invitation.organization,
            "role": Role(invitation.role).label.lower(),
            "link": site_link(f"/invitations/{plaintext}/"),
            "expires_at": invitation.expires_at,
        },
    )


@transaction.atomic
def invitation_create(*, organization: Organization, actor: Actor, email: str, role: str) -> Invitation:
    role = Role(role)
    _ensure_may_manage(actor=actor, target_role=Role.MEMBER, new_role=role)
    email = normalize_email(email)
    if Membership.objects.for_org(organization).filter(user__email__iexact=email).exists():
        raise AlreadyMember(details={"email": ["This person is already a member."]})
    pending = Invitation.objects.for_org(organization).select_for_update().filter(email__iexact=email)
    if any(invitation.is_pending for invitation in pending):
        raise AlreadyInvited(details={"email": ["This email already has a pending invitation."]})
    issued = token_issue(INVITATION_PREFIX)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=issued.digest,
        invited_by=actor.user,
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    audit_record(
        actor=actor,
        action=AuditAction.INVITATION_CREATED,
        target=invitation,
        data={"email": email, "role": role.value},
    )
    _send_invitation(invitation=invitation, plaintext=issued.plaintext, inviter=actor.user)
    return invitation


def _ensure_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InvalidInvitation("This invitation was already accepted or revoked.")


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Actor) -> Invitation:
    _ensure_may_manage(actor=actor, target_role=Role.MEMBER, new_role=invitation.role)
    _ensure_open(invitation)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.INVITATION_REVOKED,
        target=invitation,
        data={"email": invitation.email},
    )
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: Actor) -> Invitation:
    """Issue a fresh link (the old one stops working) and a fresh expiry, and email it again."""
    _ensure_may_manage(actor=actor, target_role=Role.MEMBER, new_role=invitation.role)
    _ensure_open(invitation)
    issued = token_issue(INVITATION_PREFIX)
    invitation.token_hash = issued.digest
    invitation.expires_at = timezone.now() + settings.INVITATION_TTL
    invitation.save(update_fields=["token_hash", "expires_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.INVITATION_RESENT,
        target=invitation,
        data={"email": invitation.email},
    )
    _send_invitation(invitation=invitation, plaintext=issued.plaintext, inviter=actor.user)
    return invitation


def _pending_by_token_locked(token: str) -> Invitation:
    if not token or not token.startswith(INVITATION_PREFIX) or len(token) > 200:
        raise InvalidInvitation(details={"token": ["Invalid or expired invitation."]})
    invitation = (
        Invitation.objects.unscoped()  # the token names the organization
        .select_for_update()
        .select_related("organization")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None or not invitation.is_pending:
        raise InvalidInvitation(details={"token": ["Invalid or expired invitation."]})
    return invitation


def _accept(invitation: Invitation, user: User, actor: Actor) -> Membership:
    membership, created = Membership.objects.for_org(invitation.organization).get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    audit_record(
        actor=Actor.for_user(user, ip=actor.ip, request_id=actor.request_id).in_organization(
            invitation.organization, membership
        ),
        action=AuditAction.INVITATION_ACCEPTED,
        target=invitation,
        data={"email": invitation.email, "role": invitation.role, "already_member": not created},
    )
    if created:
        emit(EventType.MEMBER_ADDED, organization=membership.organization_id, payload=_member_payload(membership))
    return membership


@transaction.atomic
def invitation_accept(*, actor: Actor, token: str) -> Membership:
    """A signed-in user accepts an invitation sent to their own email address."""
    user = actor.user
    assert user is not None, "Only a signed-in user accepts an invitation this way."
    invitation = _pending_by_token_locked(token)
    if normalize_email(user.email) != normalize_email(invitation.email):
        raise InvitationEmailMismatch(details={"token": [InvitationEmailMismatch.default_message]})
    return _accept(invitation, user, actor)


@transaction.atomic
def invitation_accept_new_user(*, actor: Actor, token: str, password: str, full_name: str = "") -> Membership:
    """Someone without an account accepts: the account is created with the invited (thus verified) email."""
    invitation = _pending_by_token_locked(token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise AccountExists()
    user = user_create(email=invitation.email, password=password, full_name=full_name, email_verified=True)
    return _accept(invitation, user, actor)
