"""Server-rendered sign-in, sign-up, sign-out, password reset/change and email verification pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.auth import services
from apps.auth.errors import InvalidToken, LoginThrottled
from apps.auth.forms import EmailForm, LoginForm, PasswordChangeForm, ProfileForm, SetPasswordForm, SignupForm
from apps.organizations.selectors import organization_list_for_user
from apps.organizations.tenancy import request_identity
from apps.organizations.web import session_select_organization, user_page
from apps.users.models import User
from apps.users.services import user_update_profile
from common.core.errors import DomainError, RateLimited
from common.core.web import form_add_domain_error
from common.security.ratelimit import window


def _safe_next(request: HttpRequest, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _start_session(request: HttpRequest, user: User) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    organization = services.organization_for_new_session(user=user)
    if organization is not None:
        session_select_organization(request, organization.pk)


@user_page
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.auth_login(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                ip=services.client_ip(request),
                request=request,
            )
        except LoginThrottled as exc:
            form.add_error(None, exc.message)
            status = 429
            response = render(request, "auth/login.html", {"form": form, "next": _safe_next(request)}, status=status)
            response["Retry-After"] = str(exc.retry_after)
            return response
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            _start_session(request, user)
            return HttpResponseRedirect(_safe_next(request))
    return render(request, "auth/login.html", {"form": form, "next": _safe_next(request)}, status=status)


@user_page
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


def _rate_limited_by_ip(request: HttpRequest, scope: str) -> int | None:
    limit = window(scope, services.client_ip(request), settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope])
    return limit.take()


def _too_many(request: HttpRequest, template: str, context: dict[str, object], wait: int) -> HttpResponse:
    messages.error(request, RateLimited(f"Too many requests. Wait {wait} seconds, then try again.").message)
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


@user_page
@require_http_methods(["GET", "POST"])
def signup_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect("/")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _rate_limited_by_ip(request, "signup")
        if wait:
            return _too_many(request, "auth/signup.html", {"form": form}, wait)
        try:
            user = services.auth_signup(actor=request_identity(request), **form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            _start_session(request, user)
            messages.success(request, f"Welcome! We sent a link to {user.email} to confirm your address.")
            return redirect("/")
    return render(request, "auth/signup.html", {"form": form})


@user_page
@require_http_methods(["GET", "POST"])
def password_reset_view(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _rate_limited_by_ip(request, "password_reset")
        if wait:
            return _too_many(request, "auth/password_reset.html", {"form": form}, wait)
        services.password_reset_request(email=form.cleaned_data["email"])
        return render(request, "auth/password_reset_sent.html", {"email": form.cleaned_data["email"]})
    return render(request, "auth/password_reset.html", {"form": form})


@user_page
@require_http_methods(["GET", "POST"])
def password_reset_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_confirm(token=token, new_password=form.cleaned_data["new_password"])
        except InvalidToken:
            return render(request, "auth/password_reset_confirm.html", {"invalid": True}, status=400)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, "Your password was changed. Sign in with the new password.")
            return redirect("/login/")
    elif request.method == "GET" and not services.password_reset_token_valid(token=token):
        return render(request, "auth/password_reset_confirm.html", {"invalid": True}, status=400)
    return render(request, "auth/password_reset_confirm.html", {"form": form})


@user_page
@require_http_methods(["GET", "POST"])
def verify_email_view(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: link scanners in mail systems must not use up the single-use token.
    if request.method == "POST":
        try:
            services.email_verify(token=token)
        except InvalidToken as exc:
            return render(request, "auth/verify_email.html", {"error": exc.message}, status=400)
        messages.success(request, "Your email address is confirmed.")
        return redirect("/" if request.user.is_authenticated else "/login/")
    return render(request, "auth/verify_email.html", {})


@user_page
@login_required
@require_POST
def verify_email_resend_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    wait = _rate_limited_by_ip(request, "password_reset")
    if wait:
        messages.error(request, f"Too many requests. Wait {wait} seconds, then try again.")
    elif services.email_verification_send(user=request.user):
        messages.success(request, f"We sent a new confirmation link to {request.user.email}.")
    return redirect("/")


@user_page
@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                user=request.user,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            update_session_auth_hash(request, request.user)  # stay signed in here; other sessions end
            messages.success(request, "Your password was changed. Other devices are signed out.")
            return redirect("/")
    return render(request, "auth/password_change.html", {"form": form})


@user_page
@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    """The person's own page: name, password, signing out everywhere, their organizations."""
    assert isinstance(request.user, User)
    form = ProfileForm(request.POST or None, initial={"full_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            user_update_profile(user=request.user, full_name=form.cleaned_data["full_name"])
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, "Your name was saved.")
            return redirect("profile")
    memberships = organization_list_for_user(user=request.user)
    return render(request, "auth/profile.html", {"form": form, "memberships": memberships})


@user_page
@login_required
@require_POST
def logout_everywhere_view(request: HttpRequest) -> HttpResponse:
    """End every other web session and every API token of the person; this browser stays signed in."""
    assert isinstance(request.user, User)
    services.auth_logout_everywhere(user=request.user)
    update_session_auth_hash(request, request.user)
    messages.success(request, "Every other browser and every API token of yours is signed out.")
    return redirect("profile")
