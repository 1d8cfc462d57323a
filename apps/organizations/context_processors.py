"""Template context for the header: the organization switcher and the role-dependent nav entries."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.organizations.models import Membership, Role
from apps.organizations.tenancy import SESSION_KEY


def organization_switcher(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/api/"):
        return {}
    memberships = list(Membership.objects.for_user(user).select_related("organization").order_by("created_at"))
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    current = next((m for m in memberships if str(m.organization_id) == str(chosen)), None)
    if current is None and memberships:
        current = memberships[0]
    is_admin = current is not None and Role(current.role).at_least(Role.ADMIN)
    return {"my_memberships": memberships, "current_membership": current, "current_is_admin": is_admin}
