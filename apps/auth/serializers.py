"""Request and response bodies of the account endpoints."""

from __future__ import annotations

from rest_framework import serializers

from apps.auth.me import MeOutputSerializer

PASSWORD_MAX = 256
TOKEN_MAX = 200


class SignupInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, style={"input_type": "password"})
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    organization_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


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
