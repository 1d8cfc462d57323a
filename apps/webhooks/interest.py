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

from django.db import transaction

from apps.webhooks.models import WebhookEndpoint
from common.core.redis import hot_execute, redis_client
from common.events import delivery_memo

CACHE_SECONDS = 300


def _keys(organization_id: Any) -> tuple[str, str]:
    return f"webhooks:wanted-version:{organization_id}", f"webhooks:wanted:{organization_id}"


def wanted_event_types(organization_id: Any) -> frozenset[str]:
    """The event types at least one enabled endpoint of the organization subscribes to (one Redis round trip
    when known: the version token and the value, stored as "<version> <type> <type> …", in one MGET). Events
    delivered together (common.events.delivered_together: facts of one commit) read it once (ADR 0133)."""
    memo = delivery_memo()
    if memo is None:
        return _wanted(organization_id)
    key = (__name__, str(organization_id))
    found = memo.get(key)
    if found is None:
        found = memo[key] = _wanted(organization_id)
    return found


def _wanted(organization_id: Any) -> frozenset[str]:
    client = redis_client()
    if client is None:
        return _read(organization_id)
    version_key, value_key = _keys(organization_id)
    version, value = hot_execute(("MGET", version_key, value_key))[0]
    if version is not None and value is not None:
        stored_version, *types = value.decode().split(" ")
        if stored_version == version.decode():
            return frozenset(types)
    if version is None:
        client.set(version_key, secrets.token_hex(8), nx=True)
        version = client.get(version_key)
    found = _read(organization_id)
    if version is not None:
        client.set(value_key, " ".join([version.decode(), *sorted(found)]), ex=CACHE_SECONDS)
    return found


def _read(organization_id: Any) -> frozenset[str]:
    rows = WebhookEndpoint.objects.for_org(organization_id).filter(enabled=True).values_list("event_types", flat=True)
    return frozenset(event_type for event_types in rows for event_type in event_types)


def forget(organization_id: Any) -> None:
    """A new version token now and again after the commit (a reader between the two re-reads the rows)."""
    client = redis_client()
    if client is None:
        return
    version_key, _ = _keys(organization_id)

    def bump() -> None:
        client.set(version_key, secrets.token_hex(8))

    bump()
    transaction.on_commit(bump)


def endpoint_changed(sender: Any, instance: WebhookEndpoint, **kwargs: Any) -> None:
    """post_save / post_delete of an endpoint (cascades included): cache hygiene, not a business rule."""
    forget(instance.organization_id)
