"""Sign-in, sign-up and password pages, mounted at the site root."""

from django.urls import path

from apps.auth import web_views as views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("signup/", views.signup_view, name="signup"),
    path("password-reset/", views.password_reset_view, name="password-reset"),
    path("password-reset/<str:token>/", views.password_reset_confirm_view, name="password-reset-confirm"),
    path("verify-email/resend/", views.verify_email_resend_view, name="verify-email-resend"),
    path("verify-email/<str:token>/", views.verify_email_view, name="verify-email"),
    path("account/", views.profile_view, name="profile"),
    path("account/password/", views.password_change_view, name="password-change"),
    path("account/logout-everywhere/", views.logout_everywhere_view, name="logout-everywhere"),
]
