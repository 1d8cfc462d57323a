"""Organization context for server-rendered pages: the session names the current organization.

Web views call `web_tenant(request, role=...)` (or use `@tenant_required(role)`), which resolves the
organization exactly like the API (apps.organizations.tenancy.resolve_tenant) and checks the role.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from apps.organizations.models import Membership, Role
from apps.organizations.tenancy import SESSION_KEY, OrganizationRequired, TenantContext, resolve_tenant
from common.core.errors import NotFound


def session_select_organization(request: HttpRequest, organization_id: Any) -> None:
    request.session[SESSION_KEY] = str(organization_id)


def web_tenant(request: HttpRequest, *, role: Role = Role.MEMBER) -> TenantContext:
    """The current organization of a signed-in web user. Not a member → 404; role too low → 403."""
    try:
        tenant = resolve_tenant(request)
    except OrganizationRequired:
        # Several memberships and none chosen yet: open the oldest, the switcher changes it.
        first = Membership.objects.filter(user=request.user).order_by("created_at").first()  # type: ignore[misc]
        assert first is not None
        session_select_organization(request, first.organization_id)
        tenant = resolve_tenant(request)
    except NotFound as exc:
        raise Http404(exc.message) from None
    if tenant.role is None or not tenant.role.at_least(role):
        raise PermissionDenied(f"This page needs the {role.label.lower()} role or higher.")
    return tenant


def tenant_required(role: Role = Role.MEMBER) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorator for web views: sign-in required, then `request.tenant` is the resolved TenantContext."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            request.tenant = web_tenant(request, role=role)  # type: ignore[attr-defined]
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:  # a selector did not find the object in this organization
                raise Http404(exc.message) from None

        return wrapper

    return decorator
