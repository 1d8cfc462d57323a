"""Request and response bodies of the account endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from apps.auth.me import MeOutputSerializer
from apps.users.authentication import token_is_current
from apps.users.models import User
from common.core.names import validate_no_control_characters

PASSWORD_MAX = 256
TOKEN_MAX = 200


class SignupInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, style={"input_type": "password"})
    full_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", validators=[validate_no_control_characters]
    )
    organization_name = serializers.CharField(
        max_length=120, required=False, allow_blank=True, default="", validators=[validate_no_control_characters]
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Short-lived access token: send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Refresh token: exchange at /auth/refresh (rotates; single use).")


class SessionOutputSerializer(TokenPairSerializer):
    user = MeOutputSerializer()


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, style={"input_type": "password"})


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutAllOutputSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="How many refresh tokens were revoked.")


class EmailInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX)
    new_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)


class PasswordChangeInputSerializer(serializers.Serializer):
    current_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    new_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)


class TokenInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX)


class EmailVerifiedSerializer(serializers.Serializer):
    email_verified = serializers.BooleanField()


class CurrentTokenRefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh, refusing a refresh token issued before the account's last revocation (the
    blacklist covers it too, except one issued while the revocation ran)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        refresh = self.token_class(attrs["refresh"])
        user_id = refresh.payload.get("user_id")
        user = User.objects.filter(pk=str(user_id)).first() if user_id else None
        if user is None or not token_is_current(user=user, token=refresh):
            raise TokenError("The refresh token was revoked.")
        return super().validate(attrs)
