"""Issuing a single-use link and emailing it: verification on sign-up, password reset on request."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from apps.auth.models import EmailVerificationToken, PasswordResetToken
from apps.auth.one_time import RESET_PREFIX, VERIFY_PREFIX, issue
from apps.users.emails import email_send_on_commit, site_link
from apps.users.models import User
from apps.users.services import normalize_email


@transaction.atomic
def email_verification_send(*, user: User) -> bool:
    """Email a verification link unless the address is already verified. Returns whether one was sent."""
    if user.email_verified_at is not None:
        return False
    plaintext = issue(EmailVerificationToken, user=user, prefix=VERIFY_PREFIX, ttl=settings.EMAIL_VERIFICATION_TTL)
    email_send_on_commit(
        to=user.email,
        subject="Confirm your email address for Docent",
        template="verify_email",
        context={
            "user": user,
            "link": site_link(f"/verify-email/{plaintext}/"),
            "days": settings.EMAIL_VERIFICATION_TTL.days,
        },
    )
    return True


@transaction.atomic
def password_reset_send(*, email: str) -> bool:
    """Email a reset link when an active account uses this address. Returns whether one was sent."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None:
        return False
    plaintext = issue(PasswordResetToken, user=user, prefix=RESET_PREFIX, ttl=settings.PASSWORD_RESET_TTL)
    email_send_on_commit(
        to=user.email,
        subject="Reset your Docent password",
        template="password_reset",
        context={"link": site_link(f"/password-reset/{plaintext}/")},
    )
    return True
