"""Who is acting: one typed value built once per HTTP request, WebSocket connection or task.

Services that write take `actor: Actor`; the audit record, quotas and metering key on it. An actor is
either identified (`kind`, the user / API key / visitor) and, once tenancy has resolved it, bound to one
organization (`organization`, and for members their `membership`). Role and API-key restriction checks
are plain functions of the actor (`require_role`, `require_scope`, `require_access`), usable outside DRF.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from uuid import UUID

from django.db import models

from apps.organizations.models import Membership, Organization, Role
from common.core.errors import NotFound, PermissionDeniedError

if TYPE_CHECKING:
    from apps.users.models import User


class ActorKind(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    VISITOR = "visitor", "Widget visitor"
    SYSTEM = "system", "System"
    ANONYMOUS = "anonymous", "Not signed in"


@runtime_checkable
class KeyGrant(Protocol):
    """What an API key lets its holder do (implemented by apps.api_keys.principal.APIKeyPrincipal)."""

    @property
    def id(self) -> UUID: ...

    @property
    def prefix(self) -> str: ...

    @property
    def organization(self) -> Organization: ...

    def has_scope(self, scope: str) -> bool: ...

    def restricted_ids(self, kind: str) -> frozenset[str] | None: ...


RESTRICTABLE = ("bot", "collection")


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    organization: Organization | None = None
    user: User | None = None
    membership: Membership | None = None
    api_key: KeyGrant | None = None
    visitor_id: str = ""
    ip: str | None = None
    request_id: str = ""
    label: str = ""  # for system actors: which job acted (e.g. "document_index")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def for_user(cls, user: User, *, ip: str | None = None, request_id: str = "") -> Actor:
        return cls(kind=ActorKind.USER, user=user, ip=ip, request_id=request_id)

    @classmethod
    def for_api_key(cls, api_key: KeyGrant, *, ip: str | None = None, request_id: str = "") -> Actor:
        return cls(
            kind=ActorKind.API_KEY, api_key=api_key, organization=api_key.organization, ip=ip, request_id=request_id
        )

    @classmethod
    def for_visitor(
        cls, visitor_id: str, *, organization: Organization, ip: str | None = None, request_id: str = ""
    ) -> Actor:
        return cls(
            kind=ActorKind.VISITOR, visitor_id=visitor_id, organization=organization, ip=ip, request_id=request_id
        )

    @classmethod
    def anonymous(cls, *, ip: str | None = None, request_id: str = "") -> Actor:
        return cls(kind=ActorKind.ANONYMOUS, ip=ip, request_id=request_id)

    @classmethod
    def system(cls, *, organization: Organization | None = None, label: str = "") -> Actor:
        return cls(kind=ActorKind.SYSTEM, organization=organization, label=label)

    def in_organization(self, organization: Organization, membership: Membership | None = None) -> Actor:
        """The same actor, bound to the organization tenancy resolved (and the member's membership)."""
        return dataclasses.replace(self, organization=organization, membership=membership)

    # ------------------------------------------------------------------ facts

    @property
    def is_api_key(self) -> bool:
        return self.kind == ActorKind.API_KEY

    @property
    def is_user(self) -> bool:
        return self.kind == ActorKind.USER

    @property
    def role(self) -> Role | None:
        return Role(self.membership.role) if self.membership is not None else None

    @property
    def org(self) -> Organization:
        """The organization tenancy bound this actor to (for code that runs after tenant_for)."""
        if self.organization is None:
            raise NotFound("Organization not found.")
        return self.organization

    @property
    def user_id(self) -> Any:
        return self.user.pk if self.user is not None else None

    @property
    def api_key_id(self) -> UUID | None:
        return self.api_key.id if self.api_key is not None else None

    @property
    def organization_id(self) -> Any:
        return self.organization.pk if self.organization is not None else None

    def restricted_ids(self, kind: str) -> frozenset[str] | None:
        """The ids of `kind` ("bot" or "collection") this actor is limited to, or None when unrestricted."""
        if kind not in RESTRICTABLE:
            raise ValueError(f"Unknown restriction kind: {kind}")
        return self.api_key.restricted_ids(kind) if self.api_key is not None else None

    def may_access(self, kind: str, resource_id: Any) -> bool:
        allowed = self.restricted_ids(kind)
        return allowed is None or str(resource_id) in allowed

    def describe(self) -> str:
        if self.user is not None:
            return str(self.user.email)
        if self.api_key is not None:
            return f"API key dk_{self.api_key.prefix}"
        if self.kind == ActorKind.VISITOR:
            return f"visitor {self.visitor_id}"
        if self.kind == ActorKind.ANONYMOUS:
            return "anonymous"
        return f"system ({self.label})" if self.label else "system"


def require_role(actor: Actor, role: Role) -> None:
    """Members need at least `role`; everyone else (API keys, visitors) is refused: use require_scope for keys."""
    current = actor.role
    if current is None or not current.at_least(role):
        raise PermissionDeniedError(
            f"This action needs the {Role(role).label.lower()} role or higher.",
            details={"required_role": Role(role).value, "your_role": current.value if current else None},
        )


def require_scope(actor: Actor, scope: str | None) -> None:
    """An API key needs `scope`; None means the operation is closed to keys."""
    assert actor.api_key is not None
    if scope is None:
        raise PermissionDeniedError(
            "API keys cannot use this endpoint; sign in as an owner or admin.",
            details={"reason": "api_key_not_allowed"},
        )
    if not actor.api_key.has_scope(scope):
        raise PermissionDeniedError(f"This API key lacks the scope {scope}.", details={"missing_scope": scope})


def require_access(actor: Actor, *, kind: str, resource_id: Any) -> None:
    """403 when the actor's API key is restricted to other bots / collections than `resource_id`."""
    if not actor.may_access(kind, resource_id):
        raise PermissionDeniedError(
            f"This API key is restricted to other {kind}s.",
            details={"restricted": kind, "resource_id": str(resource_id)},
        )
