"""JWT authentication that also honours "log out everywhere": access tokens issued before the user's
`tokens_valid_after` are refused at once instead of living out their 15 minutes."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token


class RevocableJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        user = super().get_user(validated_token)  # one query, which simplejwt makes anyway
        cutoff = getattr(user, "tokens_valid_after", None)
        issued_at = validated_token.get("iat")
        if cutoff is not None and (issued_at is None or int(issued_at) < int(cutoff.timestamp())):
            raise AuthenticationFailed("This token was revoked. Sign in again.", code="token_revoked")
        return user
