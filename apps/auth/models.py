"""One-time tokens sent by email: password reset and email verification. Only an HMAC of the token is stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from common.core.models import BaseModel


class OneTimeToken(BaseModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class PasswordResetToken(OneTimeToken):
    """A single-use password reset link; expires after settings.PASSWORD_RESET_TTL."""


class EmailVerificationToken(OneTimeToken):
    """A single-use link proving the user controls their email address."""
