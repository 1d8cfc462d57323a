"""Writes on users: creation, profile, passwords, and the JWT refresh tokens that sign them in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.users.authentication import GENERATION_CLAIM
from apps.users.models import User
from common.core.errors import ValidationFailed
from common.core.names import clean_display_name

EMAIL_TAKEN = "An account with this email already exists."


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def password_check(*, password: str, user: User | None = None, field: str = "password") -> None:
    """Django's password validators, reported as a field error in the common format."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise ValidationFailed("Choose a stronger password.", details={field: list(exc.messages)}) from None


@transaction.atomic
def user_create(*, email: str, password: str, full_name: str = "", email_verified: bool = False) -> User:
    email = normalize_email(email)
    full_name = clean_display_name(full_name, field="full_name")
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed(EMAIL_TAKEN, details={"email": [EMAIL_TAKEN]})
    candidate = User(email=email, full_name=full_name)
    password_check(password=password, user=candidate)
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email,
                password,
                full_name=full_name.strip(),
                email_verified_at=timezone.now() if email_verified else None,
            )
    except IntegrityError:  # a concurrent signup with the same email won the race
        raise ValidationFailed(EMAIL_TAKEN, details={"email": [EMAIL_TAKEN]}) from None


@transaction.atomic
def user_update_profile(*, user: User, full_name: str | None = None) -> User:
    if full_name is not None:
        user.full_name = clean_display_name(full_name, field="full_name")
    user.save(update_fields=["full_name"])
    return user


@transaction.atomic
def user_mark_email_verified(*, user: User) -> User:
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def user_issue_tokens(*, user: User) -> dict[str, Any]:
    """A fresh JWT pair. The refresh token is recorded (OutstandingToken) so it can be revoked."""
    refresh = RefreshToken.for_user(user)
    refresh[GENERATION_CLAIM] = user.token_generation  # copied into every access token derived from it
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def user_revoke_all_tokens(*, user: User) -> int:
    """Blacklist every refresh token the user holds and refuse every access token issued so far
    ("log out everywhere"), including those issued in this same second. Returns how many refresh tokens
    were revoked."""
    User.objects.filter(pk=user.pk).update(
        tokens_valid_after=timezone.now(), token_generation=F("token_generation") + 1
    )
    user.refresh_from_db(fields=["tokens_valid_after", "token_generation"])  # tokens issued next are current
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    revoked = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)


@transaction.atomic
def user_set_password(*, user: User, password: str) -> User:
    """Set a new password and revoke every refresh token (sessions are invalidated by Django's auth hash)."""
    password_check(password=password, user=user, field="new_password")
    user.set_password(password)
    user.save(update_fields=["password"])
    user_revoke_all_tokens(user=user)
    return user
