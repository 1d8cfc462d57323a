"""Server-rendered organization pages: dashboard, members and invitations, settings, switcher, accepting."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.auth.forms import add_domain_error
from apps.organizations import selectors, services
from apps.organizations.forms import (
    AcceptNewUserForm,
    InviteForm,
    OrganizationDeleteForm,
    OrganizationRenameForm,
    RoleForm,
)
from apps.organizations.models import Membership, Role
from apps.organizations.tenancy import SESSION_KEY, TenantContext
from apps.organizations.web import session_select_organization, tenant_required
from apps.users.models import User
from common.core.errors import DomainError


def _tenant(request: HttpRequest) -> TenantContext:
    tenant: TenantContext = request.tenant  # type: ignore[attr-defined]
    return tenant


def _actor(request: HttpRequest) -> Membership:
    membership = _tenant(request).membership
    assert membership is not None
    return membership


def _uuid_or_404(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Http404 from None


def dashboard_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("/login/")
    if not Membership.objects.filter(user=request.user).exists():  # type: ignore[misc]
        return render(request, "organizations/no_organization.html")
    return _dashboard(request)


@tenant_required(Role.MEMBER)
def _dashboard(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    context: dict[str, Any] = {
        "organization": tenant.organization,
        "role": tenant.role,
        "member_count": selectors.member_list(organization=tenant.organization).count(),
        "pending_invitations": selectors.invitation_list_pending(organization=tenant.organization).count(),
    }
    return render(request, "organizations/dashboard.html", context)


@tenant_required(Role.MEMBER)
def members_view(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    assert tenant.role is not None
    is_admin = tenant.role.at_least(Role.ADMIN)
    context = {
        "organization": tenant.organization,
        "members": selectors.member_list(organization=tenant.organization),
        "me": tenant.membership,
        "is_admin": is_admin,
        "is_owner": tenant.role == Role.OWNER,
        "roles": Role.choices,
        "invitations": selectors.invitation_list_pending(organization=tenant.organization) if is_admin else [],
        "invite_form": InviteForm() if is_admin else None,
    }
    return render(request, "organizations/members.html", context)


def _run(request: HttpRequest, action: Any, success: str) -> HttpResponse:
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect("/members/")


@require_POST
@tenant_required(Role.ADMIN)
def invite_view(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("/members/")
    tenant = _tenant(request)
    return _run(
        request,
        lambda: services.invitation_create(
            organization=tenant.organization, actor=_actor(request), **form.cleaned_data
        ),
        f"Invitation sent to {form.cleaned_data['email']}.",
    )


@require_POST
@tenant_required(Role.ADMIN)
def member_role_view(request: HttpRequest, membership_id: str) -> HttpResponse:
    membership = selectors.member_get(
        organization=_tenant(request).organization, membership_id=_uuid_or_404(membership_id)
    )
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("/members/")
    return _run(
        request,
        lambda: services.membership_change_role(
            membership=membership, actor=_actor(request), role=form.cleaned_data["role"]
        ),
        f"{membership.user.email} is now {form.cleaned_data['role']}.",
    )


@require_POST
@tenant_required(Role.ADMIN)
def member_remove_view(request: HttpRequest, membership_id: str) -> HttpResponse:
    membership = selectors.member_get(
        organization=_tenant(request).organization, membership_id=_uuid_or_404(membership_id)
    )
    return _run(
        request,
        lambda: services.membership_remove(membership=membership, actor=_actor(request)),
        f"{membership.user.email} was removed.",
    )


@require_POST
@tenant_required(Role.MEMBER)
def member_leave_view(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    try:
        services.membership_leave(membership=_actor(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("/members/")
    request.session.pop(SESSION_KEY, None)
    messages.success(request, f"You left {tenant.organization.name}.")
    return redirect("/")


@require_POST
@tenant_required(Role.ADMIN)
def invitation_revoke_view(request: HttpRequest, invitation_id: str) -> HttpResponse:
    invitation = selectors.invitation_get(
        organization=_tenant(request).organization, invitation_id=_uuid_or_404(invitation_id)
    )
    return _run(
        request,
        lambda: services.invitation_revoke(invitation=invitation, actor=_actor(request)),
        f"The invitation for {invitation.email} was revoked.",
    )


@require_POST
@tenant_required(Role.ADMIN)
def invitation_resend_view(request: HttpRequest, invitation_id: str) -> HttpResponse:
    invitation = selectors.invitation_get(
        organization=_tenant(request).organization, invitation_id=_uuid_or_404(invitation_id)
    )
    return _run(
        request,
        lambda: services.invitation_resend(invitation=invitation, actor=_actor(request)),
        f"A new invitation link was sent to {invitation.email}.",
    )


@login_required
@require_POST
def switch_organization_view(request: HttpRequest) -> HttpResponse:
    organization_id = request.POST.get("organization", "")
    membership = (
        Membership.objects.filter(user=request.user, organization_id=_uuid_or_404(organization_id))  # type: ignore[misc]
        .select_related("organization")
        .first()
    )
    if membership is None:
        raise Http404("Organization not found.")
    session_select_organization(request, membership.organization_id)
    messages.info(request, f"Now working in {membership.organization.name}.")
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


@require_http_methods(["GET", "POST"])
@tenant_required(Role.ADMIN)
def organization_settings_view(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    form = OrganizationRenameForm(request.POST or None, initial={"name": tenant.organization.name})
    if request.method == "POST" and form.is_valid():
        assert isinstance(request.user, User)
        try:
            services.organization_update(
                organization=tenant.organization, actor=request.user, name=form.cleaned_data["name"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "The organization was renamed.")
            return redirect("/settings/organization/")
    context = {
        "organization": tenant.organization,
        "form": form,
        "is_owner": tenant.role == Role.OWNER,
        "delete_form": OrganizationDeleteForm(),
    }
    return render(request, "organizations/settings.html", context)


@require_POST
@tenant_required(Role.OWNER)
def organization_delete_view(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    form = OrganizationDeleteForm(request.POST)
    if not form.is_valid() or form.cleaned_data["confirm_slug"] != tenant.organization.slug:
        messages.error(request, "Type the organization's slug exactly to confirm the deletion.")
        return redirect("/settings/organization/")
    name = tenant.organization.name
    assert isinstance(request.user, User)
    services.organization_delete(organization=tenant.organization, actor=request.user)
    request.session.pop(SESSION_KEY, None)
    messages.success(request, f"{name} and everything it owned were deleted.")
    return redirect("/")


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_find_by_token(token=token)
    if invitation is None or not invitation.is_pending:
        return render(request, "organizations/invitation.html", {"invalid": True}, status=400)
    account_exists = User.objects.filter(email__iexact=invitation.email).exists()
    form = AcceptNewUserForm(request.POST or None)
    context: dict[str, Any] = {"invitation": invitation, "account_exists": account_exists, "form": form}
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                assert isinstance(request.user, User)
                membership = services.invitation_accept(token=token, user=request.user)
            elif account_exists or not form.is_valid():
                return render(request, "organizations/invitation.html", context, status=400)
            else:
                membership = services.invitation_accept_new_user(
                    token=token, password=form.cleaned_data["password"], full_name=form.cleaned_data["full_name"]
                )
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        except DomainError as exc:
            add_domain_error(form, exc)
            context["error"] = exc.message
            return render(request, "organizations/invitation.html", context, status=400)
        session_select_organization(request, membership.organization_id)
        messages.success(request, f"Welcome to {membership.organization.name}.")
        return redirect("/")
    return render(request, "organizations/invitation.html", context)
