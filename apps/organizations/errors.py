"""Typed errors raised by the organizations services."""

from __future__ import annotations

from common.core.errors import Conflict, DomainError, PermissionDeniedError


class LastOwnerError(Conflict):
    code = "last_owner"
    default_message = "An organization needs at least one owner: make someone else an owner first."


class OrganizationLimitReached(Conflict):
    code = "organization_limit_reached"
    default_message = "You already own as many organizations as one account may."


class AlreadyMember(Conflict):
    code = "already_member"
    default_message = "This person is already a member of the organization."


class AlreadyInvited(Conflict):
    code = "already_invited"
    default_message = "This email already has a pending invitation; resend it instead."


class InvalidInvitation(DomainError):
    code = "invalid_invitation"
    status_code = 400
    default_message = "This invitation link is invalid, expired, revoked or already used."


class InvitationEmailMismatch(DomainError):
    code = "invitation_email_mismatch"
    status_code = 400
    default_message = "This invitation was sent to another email address. Sign in with that address."


class AccountExists(Conflict):
    code = "account_exists"
    default_message = "An account with this email already exists. Sign in to accept the invitation."


class RoleTooHigh(PermissionDeniedError):
    code = "permission_denied"
    default_message = "Only an owner can grant, change or remove the owner role."
