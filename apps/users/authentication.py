"""JWT authentication that also honours "log out everywhere": access tokens issued before the user's last
revocation are refused at once instead of living out their 15 minutes.

Each token carries the user's token generation (claim `gen`) from when it was issued; "log out everywhere",
password change and password reset increment the generation, so every token issued before the action, even
in the same second, is refused, and tokens issued after it are not.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

GENERATION_CLAIM = "gen"


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
