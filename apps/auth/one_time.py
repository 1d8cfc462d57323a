"""Single-use tokens sent by email: issued as `prefix_` + random, stored only as an HMAC, consumed once."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.auth.errors import InvalidToken
from apps.auth.models import EmailVerificationToken, OneTimeToken, PasswordResetToken
from apps.users.models import User
from common.security.tokens import token_hash, token_issue

VERIFY_PREFIX = "ev_"
RESET_PREFIX = "pr_"
_T = TypeVar("_T", bound=OneTimeToken)


def issue(model: type[_T], *, user: User, prefix: str, ttl: timedelta) -> str:
    issued = token_issue(prefix)
    model.objects.create(user=user, token_hash=issued.digest, expires_at=timezone.now() + ttl)  # type: ignore[attr-defined]
    return issued.plaintext


def consume(model: type[_T], *, token: str, prefix: str) -> _T:
    """The token's row, locked and marked used. Unknown, expired or already used → InvalidToken."""
    if not isinstance(token, str) or not token.startswith(prefix) or len(token) > 200:
        raise InvalidToken(details={"token": [InvalidToken.default_message]})
    row = (
        model.objects.select_for_update()  # type: ignore[attr-defined]
        .select_related("user")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if row is None or not row.is_usable or not row.user.is_active:
        raise InvalidToken(details={"token": [InvalidToken.default_message]})
    row.used_at = timezone.now()
    row.save(update_fields=["used_at", "updated_at"])
    return row  # type: ignore[no-any-return]


def expired_tokens_purge() -> dict[str, int]:
    """Delete what can never be used again: expired refresh-token records and expired one-time tokens."""
    now = timezone.now()
    counts = {"refresh_tokens": OutstandingToken.objects.filter(expires_at__lte=now).delete()[0]}
    for model in (PasswordResetToken, EmailVerificationToken):
        counts[model._meta.model_name or model.__name__] = model.objects.filter(expires_at__lte=now).delete()[0]
    return counts
