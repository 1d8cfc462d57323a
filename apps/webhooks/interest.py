"""Which event types an organization's enabled endpoints want, cached in the shared cache (Redis).

Every domain event asks, after its commit, whether any endpoint of its organization wants it; almost always
none does, and that question was a query per event (three per chat answer). The answer is cached under a
version token read before the database (as API-key snapshots are, ADR 0030): any save or delete of an
endpoint writes a new token, so a value computed from rows read before the change is never served after
it. Without Redis (local development: a per-process cache) nothing is cached. See ADR 0102.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from apps.webhooks.models import WebhookEndpoint

CACHE_SECONDS = 300


def _version_key(organization_id: Any) -> str:
    return f"webhooks:wanted-version:{organization_id}"


def wanted_event_types(organization_id: Any) -> frozenset[str]:
    """The event types at least one enabled endpoint of the organization subscribes to."""
    if not getattr(settings, "USE_REDIS", False):
        return _read(organization_id)
    version_key = _version_key(organization_id)
    version = cache.get(version_key)
    if version is None:
        cache.add(version_key, secrets.token_hex(8), timeout=None)
        version = cache.get(version_key)
    value_key = f"webhooks:wanted:{organization_id}:{version}"
    found = cache.get(value_key)
    if found is None:
        found = _read(organization_id)
        cache.set(value_key, found, timeout=CACHE_SECONDS)
    return frozenset(found)


def _read(organization_id: Any) -> frozenset[str]:
    rows = WebhookEndpoint.objects.for_org(organization_id).filter(enabled=True).values_list("event_types", flat=True)
    return frozenset(event_type for event_types in rows for event_type in event_types)


def forget(organization_id: Any) -> None:
    """A new version token now and again after the commit (a reader between the two re-reads the rows)."""

    def bump() -> None:
        cache.set(_version_key(organization_id), secrets.token_hex(8), timeout=None)

    bump()
    transaction.on_commit(bump)


def endpoint_changed(sender: Any, instance: WebhookEndpoint, **kwargs: Any) -> None:
    """post_save / post_delete of an endpoint (cascades included): cache hygiene, not a business rule."""
    forget(instance.organization_id)
