"""JWT authentication that also honours "log out everywhere": access tokens issued before the user's last
revocation are refused at once instead of living out their 15 minutes.

Each token carries the user's token generation (claim `gen`) from when it was issued; "log out everywhere",
password change and password reset increment the generation, so every token issued before the action, even
in the same second, is refused, and tokens issued after it are not.

Each process keeps the payloads of the last tokens whose signature it checked (`_verified`), so a token used again is
not decoded and its signature not checked again; the checks of the payload that can change with time (expiry) or
that the token class makes (type, id) run on every request, and the user is read on every request (ADR 0126).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password

GENERATION_CLAIM = "gen"
VERIFIED_TOKENS_KEPT = 4096
# raw token → (its class, its payload): tokens whose signature this process checked, the most recently used last
_verified: OrderedDict[bytes, tuple[type[Token], dict[str, Any]]] = OrderedDict()
_verified_lock = threading.Lock()


def _verified_again(raw_token: bytes) -> Token | None:
    """The token, when this process already checked its signature and its payload still passes `verify()` now."""
    with _verified_lock:
        held = _verified.get(raw_token)
        if held is not None:
            _verified.move_to_end(raw_token)
    if held is None:
        return None
    token_class, payload = held
    token = token_class.__new__(token_class)  # what Token.__init__ sets when it decodes, without decoding
    token.token = raw_token  # type: ignore[assignment]
    token.current_time = aware_utcnow()
    token.payload = dict(payload)
    try:
        token.verify()
    except TokenError:  # expired since: the full path gives the usual answer
        with _verified_lock:
            _verified.pop(raw_token, None)
        return None
    return token


def _remember_verified(raw_token: bytes, token: Token) -> None:
    with _verified_lock:
        _verified[raw_token] = (type(token), dict(token.payload))
        while len(_verified) > VERIFIED_TOKENS_KEPT:
            _verified.popitem(last=False)


def token_is_current(*, user: Any, token: Token) -> bool:
    """Whether no revocation happened since `token` was issued."""
    generation = token.get(GENERATION_CLAIM)
    if generation is not None:
        return isinstance(generation, int) and generation >= user.token_generation
    # A token from before generations existed: only the revocation time can tell, to the second.
    cutoff = user.tokens_valid_after
    issued_at = token.get("iat")
    return cutoff is None or (issued_at is not None and int(issued_at) > int(cutoff.timestamp()))


class RevocableJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        """simplejwt's, without decoding again a token this process already verified (see the module docstring)."""
        token = _verified_again(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)
            _remember_verified(raw_token, token)
        return token

    def get_user(self, validated_token: Token) -> Any:
        user = super().get_user(validated_token)  # one query, which simplejwt makes anyway
        self.check_user(user, validated_token)
        return user

    def check_user(self, user: Any, validated_token: Token) -> None:
        """simplejwt's checks of a user it read (active, password unchanged when so configured), then revocation;
        for subclasses that read the user another way (apps.organizations.authentication)."""
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        if not token_is_current(user=user, token=validated_token):
            raise AuthenticationFailed("This token was revoked. Sign in again.", code="token_revoked")
