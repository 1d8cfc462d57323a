"""Sign-up, sign-in (with throttling), sign-out, email verification and password reset/change.

Issuing and emailing the single-use links is in apps.auth.links (the reset email is sent by a task)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from apps.auth.errors import InvalidCredentials, InvalidToken, LoginThrottled
from apps.auth.links import email_verification_send
from apps.auth.models import EmailVerificationToken, PasswordResetToken
from apps.auth.one_time import RESET_PREFIX, VERIFY_PREFIX, consume
from apps.auth.tasks import password_reset_send_task
from apps.organizations.actors import Actor
from apps.organizations.models import Organization
from apps.organizations.services import organization_create
from apps.users.models import User
from apps.users.services import (
    normalize_email,
    user_create,
    user_mark_email_verified,
    user_revoke_all_tokens,
    user_set_password,
)
from common.core.errors import ValidationFailed
from common.core.names import clean_display_name
from common.security.client_ip import client_ip as trusted_client_ip
from common.security.ratelimit import window
from common.security.tokens import token_hash


def _rates() -> dict[str, str]:
    rates: dict[str, str] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    return rates


def client_ip(request: HttpRequest) -> str:
    # X-Forwarded-For counts only from TRUSTED_PROXY_IPS (see deployment.md).
    return trusted_client_ip(request) or "unknown"


def auth_login(*, email: str, password: str, ip: str, request: HttpRequest | None = None) -> User:
    """Check the credentials, at most `login_ip` attempts per IP and `login_account` failures per account."""
    per_ip = window("login_ip", ip, _rates()["login_ip"])
    # The account's bucket is named by a keyed hash of the address: no email address in cache keys.
    per_account = window("login_account", token_hash(normalize_email(email)), _rates()["login_account"])
    # Each attempt takes its slot before the password is checked, so concurrent guesses cannot overshoot;
    # a successful sign-in gives the account's slot back (only failures count against an account).
    wait = per_ip.take() or per_account.take()
    if wait:
        raise LoginThrottled(retry_after=wait)
    user = authenticate(request, username=normalize_email(email), password=password)
    if user is None:
        raise InvalidCredentials()
    per_account.give_back()
    assert isinstance(user, User)
    return user


@transaction.atomic
def auth_signup(*, actor: Actor, email: str, password: str, full_name: str = "", organization_name: str = "") -> User:
    """Create the account and its first organization (the user is its owner), and send the verification link.
    `actor` is the anonymous caller (its IP and request id are kept in the audit record)."""
    organization_name = clean_display_name(organization_name, field="organization_name")
    user = user_create(email=email, password=password, full_name=full_name)
    name = organization_name or f"{(user.full_name or user.email.split('@')[0])}'s organization"
    organization_create(
        actor=Actor.for_user(user, ip=actor.ip, request_id=actor.request_id),
        name=name[:120],
        name_field="organization_name",
    )
    email_verification_send(user=user)
    return user


def auth_logout(*, refresh: str) -> None:
    """Revoke one refresh token (this device)."""
    try:
        RefreshToken(refresh).blacklist()  # type: ignore[arg-type]
    except TokenError:
        raise InvalidToken(
            "This refresh token is invalid or already revoked.", details={"refresh": ["Invalid."]}
        ) from None


def auth_logout_everywhere(*, user: User) -> int:
    return user_revoke_all_tokens(user=user)


@transaction.atomic
def email_verify(*, token: str) -> User:
    row = consume(EmailVerificationToken, token=token, prefix=VERIFY_PREFIX)
    return user_mark_email_verified(user=row.user)


def password_reset_request(*, email: str) -> None:
    """Queue the reset email. The lookup happens on a worker, so the response takes the same time whether
    or not an account uses the address (no account enumeration by timing either)."""
    normalized = normalize_email(email)
    transaction.on_commit(lambda: password_reset_send_task.delay(email=normalized))


def password_reset_token_valid(*, token: str) -> bool:
    """Whether a reset link can still be used (for the reset page; does not consume it)."""
    if not token.startswith(RESET_PREFIX) or len(token) > 200:
        return False
    row = PasswordResetToken.objects.select_related("user").filter(token_hash=token_hash(token)).first()
    return row is not None and row.is_usable and row.user.is_active


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> User:
    """Set the password from a reset link: the link and every other pending one stop working, and every
    refresh token of the account is revoked."""
    row = consume(PasswordResetToken, token=token, prefix=RESET_PREFIX)
    user = user_set_password(user=row.user, password=new_password)
    PasswordResetToken.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
    if user.email_verified_at is None:  # the link arrived by email: the address is proven
        user_mark_email_verified(user=user)
    return user


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str) -> User:
    if not user.check_password(current_password):
        raise ValidationFailed(
            "The current password is incorrect.", details={"current_password": ["The current password is incorrect."]}
        )
    return user_set_password(user=user, password=new_password)


def organization_for_new_session(*, user: User) -> Organization | None:
    """The organization the web UI opens after sign-in: the user's oldest membership."""
    membership = user.memberships.select_related("organization").order_by("created_at").first()  # type: ignore[attr-defined]
    return membership.organization if membership else None
