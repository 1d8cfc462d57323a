"""The web boundary: every organization page goes through `tenant_required`, like every API through its base class.

`@tenant_required(Role.MEMBER, write=Role.ADMIN)` signs the visitor in (or redirects to the login page),
resolves the organization exactly like the API (apps.organizations.tenancy.tenant_for, the session naming the
organization the switcher chose), checks the role (a POST needs `write` when given) and hands the view
`request.actor`. A domain error the view does not handle becomes an error page with its status; a user with
no organization is sent to the page that says so, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from apps.organizations.actors import Actor, require_role
from apps.organizations.models import Membership, Role
from apps.organizations.tenancy import SESSION_KEY, OrganizationRequired, request_actor
from common.core.errors import DomainError, NotFound, PermissionDeniedError
from common.core.web import domain_error_page

View = Callable[..., HttpResponseBase]  # pages, streams and files
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def session_select_organization(request: HttpRequest, organization_id: Any) -> None:
    request.session[SESSION_KEY] = str(organization_id)


def web_actor(request: HttpRequest) -> Actor:
    """The signed-in user's actor in the current organization (the session's choice, else the oldest)."""
    try:
        return request_actor(request)
    except OrganizationRequired:
        # Several memberships and none chosen yet: open the oldest, the switcher changes it.
        first = Membership.objects.for_user(request.user).order_by("created_at").first()
        assert first is not None
        session_select_organization(request, first.organization_id)
        return request_actor(request)


def tenant_required(role: Role = Role.MEMBER, *, write: Role | None = None) -> Callable[[View], View]:
    """Decorator for every organization page: see the module docstring."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                actor = web_actor(request)
            except NotFound:
                if not Membership.objects.for_user(request.user).exists():
                    return redirect("/")  # the dashboard explains how to get an organization
                raise Http404("Organization not found.") from None
            needed = role if write is None or request.method in SAFE_METHODS else write
            try:
                require_role(actor, needed)
            except PermissionDeniedError as exc:
                raise PermissionDenied(exc.message) from None
            request.actor = actor  # type: ignore[attr-defined]
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:  # a selector did not find the object in this organization
                raise Http404(exc.message) from None
            except DomainError as exc:
                return domain_error_page(request, exc, back_url=request.path)

        wrapper.tenant_boundary = (role, write)  # type: ignore[attr-defined]
        return wrapper

    return decorator


def user_page(view: View) -> View:
    """Decorator for pages that belong to a person, not an organization (account, switcher, accepting an
    invitation): sign-in is checked by the view itself where needed. Marks the page as deliberately outside
    the tenant boundary so the boundary test accepts it."""
    view.tenant_boundary = None  # type: ignore[attr-defined]
    return view


def actor_of(request: HttpRequest) -> Actor:
    """The actor `tenant_required` put on the request."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor
