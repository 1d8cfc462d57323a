"""Resolve the one organization a request acts in, and check the caller may act there.

Every organization-scoped API uses `OrganizationScopedMixin` (apps.organizations.views_base):
- API key: the key's organization, and the view's declared scope must be among the key's scopes.
- JWT or session: the organization named by the `X-Organization` header (id or slug), else the one
  chosen in the session (web UI switcher), else the caller's only membership. Not a member → 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from apps.organizations.models import Membership, Organization, Role
from common.core.errors import DomainError, NotFound

SESSION_KEY = "organization_id"
HEADER = "X-Organization"


class OrganizationRequired(DomainError):
    code = "organization_required"
    status_code = 400
    default_message = "You belong to several organizations: name one with the X-Organization header."


@dataclass(frozen=True)
class TenantContext:
    organization: Organization
    membership: Membership | None  # None for API keys
    api_key: Any | None  # the APIKey when the caller authenticated with one

    @property
    def role(self) -> Role | None:
        return Role(self.membership.role) if self.membership else None


def is_api_key(auth: Any) -> bool:
    return bool(getattr(auth, "is_api_key", False))


def acting_user(request: Any) -> Any | None:
    """The user to record as actor / creator: the signed-in user, or None for an API key (whose
    `request.user` is an APIKeyUser with no database row; `request.auth.id` identifies the key)."""
    if is_api_key(getattr(request, "auth", None)):
        return None
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def _lookup_membership(user: Any, ref: str) -> Membership | None:
    qs = Membership.objects.select_related("organization").filter(user=user)
    try:
        uuid.UUID(ref)
        return qs.filter(organization_id=ref).first()
    except ValueError:
        return qs.filter(organization__slug=ref).first()


def resolve_tenant(request: HttpRequest, auth: Any = None) -> TenantContext:
    if is_api_key(auth):
        return TenantContext(organization=auth.organization, membership=None, api_key=auth)
    user: Any = request.user
    named = request.headers.get(HEADER, "").strip()
    if named:
        membership = _lookup_membership(user, named)
        if membership is None:
            raise NotFound("Organization not found.")
        return TenantContext(membership.organization, membership, None)
    session = getattr(request, "session", None)
    session_org = session.get(SESSION_KEY) if session is not None else None
    if session_org:
        membership = _lookup_membership(user, str(session_org))
        if membership is not None:
            return TenantContext(membership.organization, membership, None)
    memberships = list(Membership.objects.select_related("organization").filter(user=user)[:2])
    if len(memberships) == 1:
        return TenantContext(memberships[0].organization, memberships[0], None)
    if not memberships:
        raise NotFound("You are not a member of any organization.")
    raise OrganizationRequired()
