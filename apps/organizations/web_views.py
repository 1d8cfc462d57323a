"""Server-rendered organization pages: dashboard, members and invitations, settings, switcher, accepting."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.organizations import selectors, services
from apps.organizations.audit import AuditAction
from apps.organizations.forms import (
    AcceptNewUserForm,
    AuditFilterForm,
    InviteForm,
    OrganizationCreateForm,
    OrganizationDeleteForm,
    OrganizationRenameForm,
    RoleForm,
)
from apps.organizations.models import Membership, Role
from apps.organizations.tenancy import SESSION_KEY, request_identity
from apps.organizations.web import actor_of, session_select_organization, tenant_required, user_page
from apps.users.models import User
from common.core.errors import DomainError
from common.core.web import form_add_domain_error


def _uuid_or_404(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Http404 from None


@tenant_required(Role.MEMBER)
def members_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    assert actor.role is not None
    is_admin = actor.role.at_least(Role.ADMIN)
    context = {
        "organization": actor.org,
        "members": selectors.member_list(organization=actor.org),
        "me": actor.membership,
        "is_admin": is_admin,
        "is_owner": actor.role == Role.OWNER,
        "roles": Role.choices,
        "invitations": selectors.invitation_list_pending(organization=actor.org) if is_admin else [],
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
    actor = actor_of(request)
    return _run(
        request,
        lambda: services.invitation_create(organization=actor.org, actor=actor_of(request), **form.cleaned_data),
        f"Invitation sent to {form.cleaned_data['email']}.",
    )


@require_POST
@tenant_required(Role.ADMIN)
def member_role_view(request: HttpRequest, membership_id: str) -> HttpResponse:
    membership = selectors.member_get(organization=actor_of(request).org, membership_id=_uuid_or_404(membership_id))
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("/members/")
    return _run(
        request,
        lambda: services.membership_change_role(
            membership=membership, actor=actor_of(request), role=form.cleaned_data["role"]
        ),
        f"{membership.user.email} is now {form.cleaned_data['role']}.",
    )


@require_POST
@tenant_required(Role.ADMIN)
def member_remove_view(request: HttpRequest, membership_id: str) -> HttpResponse:
    membership = selectors.member_get(organization=actor_of(request).org, membership_id=_uuid_or_404(membership_id))
    return _run(
        request,
        lambda: services.membership_remove(membership=membership, actor=actor_of(request)),
        f"{membership.user.email} was removed.",
    )


@require_POST
@tenant_required(Role.MEMBER)
def member_leave_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    try:
        services.membership_leave(actor=actor)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("/members/")
    request.session.pop(SESSION_KEY, None)
    messages.success(request, f"You left {actor.org.name}.")
    return redirect("/")


@require_POST
@tenant_required(Role.ADMIN)
def invitation_revoke_view(request: HttpRequest, invitation_id: str) -> HttpResponse:
    invitation = selectors.invitation_get(organization=actor_of(request).org, invitation_id=_uuid_or_404(invitation_id))
    return _run(
        request,
        lambda: services.invitation_revoke(invitation=invitation, actor=actor_of(request)),
        f"The invitation for {invitation.email} was revoked.",
    )


@require_POST
@tenant_required(Role.ADMIN)
def invitation_resend_view(request: HttpRequest, invitation_id: str) -> HttpResponse:
    invitation = selectors.invitation_get(organization=actor_of(request).org, invitation_id=_uuid_or_404(invitation_id))
    return _run(
        request,
        lambda: services.invitation_resend(invitation=invitation, actor=actor_of(request)),
        f"A new invitation link was sent to {invitation.email}.",
    )


@user_page
@login_required
@require_POST
def switch_organization_view(request: HttpRequest) -> HttpResponse:
    organization_id = request.POST.get("organization", "")
    membership = (
        Membership.objects.for_user(request.user)
        .filter(organization_id=_uuid_or_404(organization_id))
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
    actor = actor_of(request)
    form = OrganizationRenameForm(request.POST or None, initial={"name": actor.org.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_update(organization=actor.org, actor=actor, name=form.cleaned_data["name"])
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, "The organization was renamed.")
            return redirect("/settings/organization/")
    context = {
        "organization": actor.org,
        "form": form,
        "is_owner": actor.role == Role.OWNER,
        "delete_form": OrganizationDeleteForm(),
    }
    return render(request, "organizations/settings.html", context)


@require_POST
@tenant_required(Role.OWNER)
def organization_delete_view(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = OrganizationDeleteForm(request.POST)
    if not form.is_valid() or form.cleaned_data["confirm_slug"] != actor.org.slug:
        messages.error(request, "Type the organization's slug exactly to confirm the deletion.")
        return redirect("/settings/organization/")
    name = actor.org.name
    services.organization_delete(organization=actor.org, actor=actor)
    request.session.pop(SESSION_KEY, None)
    messages.success(request, f"{name} and everything it owned were deleted.")
    return redirect("/")


@user_page
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
                membership = services.invitation_accept(actor=request_identity(request), token=token)
            elif account_exists or not form.is_valid():
                return render(request, "organizations/invitation.html", context, status=400)
            else:
                membership = services.invitation_accept_new_user(
                    actor=request_identity(request),
                    token=token,
                    password=form.cleaned_data["password"],
                    full_name=form.cleaned_data["full_name"],
                )
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        except DomainError as exc:
            form_add_domain_error(form, exc)
            context["error"] = exc.message
            return render(request, "organizations/invitation.html", context, status=400)
        session_select_organization(request, membership.organization_id)
        messages.success(request, f"Welcome to {membership.organization.name}.")
        return redirect("/")
    return render(request, "organizations/invitation.html", context)


@user_page
@login_required
@require_http_methods(["GET", "POST"])
def organization_create_view(request: HttpRequest) -> HttpResponse:
    """Anyone signed in creates an organization, becomes its owner and starts working in it."""
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(actor=request_identity(request), name=form.cleaned_data["name"])
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            session_select_organization(request, organization.pk)
            messages.success(request, f"{organization.name} is ready. Start by adding documents.")
            return redirect("/")
    return render(request, "organizations/new.html", {"form": form})


AUDIT_PAGE_SIZE = 50


@tenant_required(Role.ADMIN)
def audit_log_view(request: HttpRequest) -> HttpResponse:
    """Who (a member or an API key) did what, when and from which IP, newest first, with filters."""
    actor = actor_of(request)
    form = AuditFilterForm(request.GET or None)
    filters = selectors.AuditFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = selectors.AuditFilters(
            action=data["action"],
            actor_kind=data["actor_kind"],
            who=data["who"].strip(),
            start=data["start"],
            end=data["end"],
        )
    events = selectors.audit_event_list(organization=actor.org, filters=filters)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    labels = dict(AuditAction.choices)
    for event in page.object_list:
        event.label = labels.get(event.action, event.action)  # type: ignore[attr-defined]
        event.subject = next((str(event.data[k]) for k in ("title", "name", "email") if event.data.get(k)), "")  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "organizations/audit.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "filtered": bool(query),
        },
    )
