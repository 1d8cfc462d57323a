"""What `request.auth` is for a request made with an API key: a cached, immutable snapshot of the key.

It implements apps.organizations.actors.KeyGrant, so other apps see it through the request's Actor and never
import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from apps.organizations.models import Organization


@dataclass(frozen=True)
class Limits:
    """Effective limits; 0 means no limit."""

    rate_per_minute: int = 0
    daily_requests: int = 0
    monthly_requests: int = 0
    daily_tokens: int = 0
    monthly_tokens: int = 0


@dataclass(frozen=True)
class APIKeyPrincipal:
    id: UUID
    prefix: str
    name: str
    organization: Organization
    secret_hash: str
    scopes: frozenset[str]
    bot_ids: frozenset[str]  # empty = every bot
    collection_ids: frozenset[str]  # empty = every collection
    limits: Limits
    org_limits: Limits
    expires_at: datetime | None
    revoked_at: datetime | None
    generation: str  # the cache generation this snapshot was built under

    @property
    def organization_id(self) -> UUID:
        return self.organization.pk

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def allows_bot(self, bot_id: Any) -> bool:
        return not self.bot_ids or str(bot_id) in self.bot_ids

    def allows_collection(self, collection_id: Any) -> bool:
        return not self.collection_ids or str(collection_id) in self.collection_ids

    def restricted_ids(self, kind: str) -> frozenset[str] | None:
        """The ids this key is limited to for `kind` ("bot" or "collection"); None = no restriction."""
        ids = {"bot": self.bot_ids, "collection": self.collection_ids}[kind]
        return ids or None


class APIKeyUser:
    """`request.user` for an API-key request: authenticated, but nobody in particular (no user row)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    email = ""

    def __init__(self, api_key: APIKeyPrincipal) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key dk_{self.api_key.prefix}"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False
