"""Resolve the one organization an actor acts in, without needing an HttpRequest.

`tenant_for(actor, organization_ref, preferred_ref=...)` is pure: the DRF base class, the web pages,
WebSocket consumers and tasks all call it.
- API key / widget visitor / system: the organization they carry.
- A user: the organization named by `organization_ref` (id or slug; the API's `X-Organization` header),
  else `preferred_ref` when the user is still a member there (the web UI's switcher, kept in the session),
  else the user's only membership. Not a member → 404; several and none named → 400.

`request_actor(request, auth)` builds the actor of an HTTP request (identity, client IP, request id) and
resolves its organization the same way.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from django.db import connections
from django.http import HttpRequest

from apps.organizations.actors import Actor, ActorKind, KeyGrant
from apps.organizations.models import Membership, Organization
from apps.users.models import User
from common.core.errors import DomainError, NotFound
from common.core.http import client_ip
from common.core.rows import JoinedColumns

SESSION_KEY = "organization_id"
HEADER = "X-Organization"
HEADER_META = "HTTP_X_ORGANIZATION"
# A membership this request's authentication already read with its user (apps.organizations.authentication).
_READ_WITH_USER = "_membership_read_with_user"


class OrganizationRequired(DomainError):
    code = "organization_required"
    status_code = 400
    default_message = "You belong to several organizations: name one with the X-Organization header."


def membership_query(user: Any, ref: str) -> Any:
    """The user's (a user or their id) membership of the organization `ref` (id or slug), with the organization."""
    memberships = Membership.objects.for_user(user).select_related("organization")
    try:
        uuid.UUID(ref)
    except ValueError:
        return memberships.filter(organization__slug=ref)
    return memberships.filter(organization_id=ref)


@cache
def _member_read(by_slug: bool) -> tuple[JoinedColumns, str]:
    """The columns and the statement string of `member_read` (built once per process)."""
    columns = JoinedColumns((Membership, "m"), (User, "u"), (Organization, "o"))
    quote = connections[columns.using].ops.quote_name
    organization = "o.slug = %s" if by_slug else "m.organization_id = %s"
    return columns, (
        f"SELECT {columns.select} FROM {quote(Membership._meta.db_table)} m"
        f" JOIN {quote(User._meta.db_table)} u ON u.id = m.user_id"
        f" JOIN {quote(Organization._meta.db_table)} o ON o.id = m.organization_id"
        f" WHERE m.user_id = %s AND {organization} LIMIT 1"
    )


def member_read(user_id: Any, ref: str) -> Membership | None:
    """The membership of the user `user_id` in the organization `ref` (id or slug), with its user and organization
    read along, or None (no such user, or not a member there). What `membership_query(...).select_related("user")`
    reads, with a statement string built once instead of the ORM building and compiling the query every request
    (it ran on every authenticated API request and was most of that request's cost; ADR 0126)."""
    try:
        user_pk = uuid.UUID(str(user_id))
    except ValueError:
        return None
    try:
        organization: Any = uuid.UUID(ref)
    except ValueError:
        organization = ref
    columns, sql = _member_read(isinstance(organization, str))
    with connections[columns.using].cursor() as cursor:
        cursor.execute(sql, (user_pk, organization))
        row = cursor.fetchone()
    if row is None:
        return None
    membership, user, org = columns.instances(row)
    assert isinstance(membership, Membership)
    Membership.user.field.set_cached_value(membership, user)
    Membership.organization.field.set_cached_value(membership, org)
    return membership


def remember_membership(user: Any, ref: str, membership: Membership) -> None:
    """Keep on this request's user the membership of `ref` read along with it, for tenancy to use."""
    setattr(user, _READ_WITH_USER, (ref, membership))


def _membership(user: Any, ref: str) -> Membership | None:
    held = getattr(user, _READ_WITH_USER, None)
    if held is not None and held[0] == ref:
        return held[1]  # type: ignore[no-any-return]
    return membership_query(user, ref).first()


def tenant_for(actor: Actor, organization_ref: str | None = None, *, preferred_ref: str | None = None) -> Actor:
    """The actor bound to the one organization it acts in (see the module docstring)."""
    if actor.kind != ActorKind.USER:
        if actor.organization is None:
            raise NotFound("Organization not found.")
        return actor
    user = actor.user
    if organization_ref:
        membership = _membership(user, organization_ref)
        if membership is None:
            raise NotFound("Organization not found.")
        return actor.in_organization(membership.organization, membership)
    if preferred_ref:
        membership = _membership(user, preferred_ref)
        if membership is not None:
            return actor.in_organization(membership.organization, membership)
    memberships = list(Membership.objects.for_user(user).select_related("organization")[:2])
    if len(memberships) == 1:
        return actor.in_organization(memberships[0].organization, memberships[0])
    if not memberships:
        raise NotFound("You are not a member of any organization.")
    raise OrganizationRequired()


def request_identity(request: HttpRequest, auth: Any = None) -> Actor:
    """Who made this HTTP request, before tenancy: an API key, a signed-in user, or nobody (system)."""
    ip = client_ip(request)
    request_id = str(getattr(request, "request_id", "") or "")
    if isinstance(auth, KeyGrant):  # DRF's request.auth for the API-key authentication
        return Actor.for_api_key(auth, ip=ip, request_id=request_id)
    user: Any = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "pk", None) is not None:
        return Actor.for_user(user, ip=ip, request_id=request_id)
    return Actor.anonymous(ip=ip, request_id=request_id)


def request_actor(request: HttpRequest, auth: Any = None) -> Actor:
    """The actor of an HTTP request bound to its organization (header, then session, then the only one)."""
    actor = request_identity(request, auth)
    session = getattr(request, "session", None)
    preferred = session.get(SESSION_KEY) if session is not None else None
    return tenant_for(
        actor, request.headers.get(HEADER, "").strip() or None, preferred_ref=str(preferred) if preferred else None
    )
