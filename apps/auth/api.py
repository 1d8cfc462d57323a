"""Account endpoints under /api/v1/auth/: signup, login, refresh, logout, password reset/change, email verification."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError

from apps.auth import serializers as s
from apps.auth import services
from apps.auth.me import MeOutputSerializer
from apps.auth.throttles import PasswordResetThrottle, SignupThrottle
from apps.organizations.tenancy import request_identity
from apps.organizations.views_base import UserAPIView
from apps.users.models import User
from apps.users.services import user_issue_tokens
from common.core.errors import DomainError

TAGS = ["auth"]
ERRORS = {400: OpenApiResponse(description="Invalid input (common error format).")}


class RefreshInvalid(DomainError):
    code = "invalid_token"
    status_code = 401
    default_message = "This refresh token is invalid, expired or revoked. Sign in again."


def _session_body(user: User) -> dict[str, Any]:
    return {**user_issue_tokens(user=user), "user": MeOutputSerializer(user).data}


class SignupAPI(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [SignupThrottle]

    @extend_schema(
        request=s.SignupInputSerializer,
        responses={201: s.SessionOutputSerializer, **ERRORS},
        tags=TAGS,
        summary="Create an account and its first organization",
    )
    def post(self, request: Request) -> Response:
        data = s.SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.auth_signup(actor=request_identity(request._request), **data.validated_data)
        return Response(_session_body(user), status=status.HTTP_201_CREATED)


class LoginAPI(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=s.LoginInputSerializer,
        responses={
            200: s.SessionOutputSerializer,
            401: OpenApiResponse(description="Wrong email or password."),
            429: OpenApiResponse(description="Too many attempts from this IP or for this account (Retry-After)."),
        },
        tags=TAGS,
        summary="Sign in: a JWT access/refresh pair",
    )
    def post(self, request: Request) -> Response:
        data = s.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.auth_login(
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            ip=services.client_ip(request._request),
            request=request._request,
        )
        return Response(_session_body(user))


class RefreshAPI(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=s.RefreshInputSerializer,
        responses={200: s.TokenPairSerializer, 401: OpenApiResponse(description="Invalid or revoked token.")},
        tags=TAGS,
        summary="Exchange a refresh token for a new pair (the old refresh token is revoked)",
    )
    def post(self, request: Request) -> Response:
        data = s.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        serializer = s.CurrentTokenRefreshSerializer(data=data.validated_data)
        try:
            serializer.is_valid(raise_exception=True)
        except (TokenError, User.DoesNotExist, AuthenticationFailed):  # AuthenticationFailed: inactive account
            raise RefreshInvalid(details={"refresh": [RefreshInvalid.default_message]}) from None
        return Response(serializer.validated_data)


class LogoutAPI(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=s.RefreshInputSerializer,
        responses={204: None, **ERRORS},
        tags=TAGS,
        summary="Sign out this device: revoke the given refresh token",
    )
    def post(self, request: Request) -> Response:
        data = s.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.auth_logout(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllAPI(UserAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: s.LogoutAllOutputSerializer},
        tags=TAGS,
        summary="Sign out everywhere: revoke every refresh token of the account",
    )
    def post(self, request: Request) -> Response:
        revoked = services.auth_logout_everywhere(user=self.signed_in_user())
        return Response({"revoked": revoked})


class PasswordResetRequestAPI(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [PasswordResetThrottle]

    @extend_schema(
        request=s.EmailInputSerializer,
        responses={202: s.DetailSerializer, **ERRORS},
        tags=TAGS,
        summary="Email a password reset link (always 202: it does not reveal whether the account exists)",
    )
    def post(self, request: Request) -> Response:
        data = s.EmailInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response(
            {"detail": "If an account uses this address, a reset link is on its way."}, status=status.HTTP_202_ACCEPTED
        )


class PasswordResetConfirmAPI(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [PasswordResetThrottle]

    @extend_schema(
        request=s.PasswordResetConfirmInputSerializer,
        responses={200: s.DetailSerializer, **ERRORS},
        tags=TAGS,
        summary="Set a new password with a reset token; revokes every refresh token",
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response({"detail": "Your password was changed. Sign in with the new password."})


class PasswordChangeAPI(UserAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=s.PasswordChangeInputSerializer,
        responses={200: s.TokenPairSerializer, **ERRORS},
        tags=TAGS,
        summary="Change the password; revokes every refresh token and returns a new pair for this device",
    )
    def post(self, request: Request) -> Response:
        data = s.PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.password_change(user=self.signed_in_user(), **data.validated_data)
        return Response(user_issue_tokens(user=user))


class VerifyEmailAPI(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=s.TokenInputSerializer,
        responses={200: s.EmailVerifiedSerializer, **ERRORS},
        tags=TAGS,
        summary="Confirm an email address with the token from the verification link",
    )
    def post(self, request: Request) -> Response:
        data = s.TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.email_verify(token=data.validated_data["token"])
        return Response({"email_verified": True})


class VerifyEmailResendAPI(UserAPIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [PasswordResetThrottle]

    @extend_schema(
        request=None,
        responses={202: s.EmailVerifiedSerializer},
        tags=TAGS,
        summary="Send the verification link again",
    )
    def post(self, request: Request) -> Response:
        user = self.signed_in_user()
        services.email_verification_send(user=user)
        return Response({"email_verified": user.email_verified_at is not None}, status=status.HTTP_202_ACCEPTED)
