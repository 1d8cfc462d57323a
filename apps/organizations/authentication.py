"""JWT authentication that reads the member together with their membership of the organization the request names.

A request with a JWT and `X-Organization` needs the user (simplejwt reads it by id) and then, for tenancy, their
membership of that organization with the organization itself. When the header names an organization, both come
from one statement (membership joined to its user and organization); tenancy (apps.organizations.tenancy) then
uses the membership this request already read. Without the header, or when the user is no member there, the
user is read alone as before and tenancy answers as it always did (the only membership, 400 or 404).
The same checks apply either way (active user, "log out everywhere", apps.users.authentication).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from apps.organizations.tenancy import HEADER_META, member_read, remember_membership
from apps.users.authentication import RevocableJWTAuthentication


class MemberJWTAuthentication(RevocableJWTAuthentication):
    organization_ref: str = ""

    def authenticate(self, request: Request) -> Any:
        # DRF builds the authentication classes per request, so this is this request's header.
        self.organization_ref = str(request.META.get(HEADER_META, "") or "").strip()
        return super().authenticate(request)

    def get_user(self, validated_token: Token) -> Any:
        if not self.organization_ref or api_settings.USER_ID_FIELD != "id":
            return super().get_user(validated_token)
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError:
            raise InvalidToken("Token contained no recognizable user identification") from None
        membership = member_read(user_id, self.organization_ref)
        if membership is None:
            return super().get_user(validated_token)  # user not found, or not a member there: the usual answers
        user = membership.user
        self.check_user(user, validated_token)
        remember_membership(user, self.organization_ref, membership)
        return user
