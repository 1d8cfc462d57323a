"""Account routes, mounted under /api/v1/."""

from django.urls import path

from apps.auth import api
from apps.auth.me import MeAPI

urlpatterns = [
    path("me", MeAPI.as_view(), name="me"),
    path("auth/signup", api.SignupAPI.as_view(), name="auth-signup"),
    path("auth/login", api.LoginAPI.as_view(), name="auth-login"),
    path("auth/refresh", api.RefreshAPI.as_view(), name="auth-refresh"),
    path("auth/logout", api.LogoutAPI.as_view(), name="auth-logout"),
    path("auth/logout-all", api.LogoutAllAPI.as_view(), name="auth-logout-all"),
    path("auth/password/reset", api.PasswordResetRequestAPI.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm", api.PasswordResetConfirmAPI.as_view(), name="auth-password-reset-confirm"),
    path("auth/password/change", api.PasswordChangeAPI.as_view(), name="auth-password-change"),
    path("auth/verify-email", api.VerifyEmailAPI.as_view(), name="auth-verify-email"),
    path("auth/verify-email/resend", api.VerifyEmailResendAPI.as_view(), name="auth-verify-email-resend"),
]
