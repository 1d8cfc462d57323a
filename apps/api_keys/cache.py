"""Warm-path key lookups: a snapshot per prefix in Redis (Django's cache without Redis), valid only under
the current generation.

Unknown prefixes are cached too (as absent), so guessing keys costs no database query after the first.
Each prefix has a generation token (no expiry) next to its snapshot. Revoking, rotating or changing a key
writes a new token, so the very next request misses the snapshot and reloads the row, even on other
web processes. The generation is read before the database, so a request that loaded the row just before
a revocation caches its snapshot under the old token, which no request accepts. A missing token (evicted)
never matches anything: the row is reloaded.

With Redis, each web process also keeps the snapshots it has loaded (`warm_principal`), with the raw
generation token they were read under, for as long as Redis keeps them. A warm request sends that token
with its admission (apps.api_keys.limits.admit_warm), which Redis checks before counting: one round trip,
no unpickling, and a revoked key is still refused on the very next request (see ADR 0100).
"""

from __future__ import annotations

import pickle  # nosec B403: only this module writes these entries, into the deployment's own Redis
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from apps.api_keys import limits
from apps.api_keys.models import APIKey, OrganizationAPILimits
from apps.api_keys.principal import APIKeyPrincipal, Limits
from common.core.redis import hot_execute


def entry_key(prefix: str) -> str:
    return f"apikey:entry:{prefix}"


def generation_key(prefix: str) -> str:
    return f"apikey:gen:{prefix}"


@dataclass(frozen=True)
class _Unknown:
    """Cached absence of a prefix, so random keys cannot make every request query the database."""

    generation: str


class _RedisStore:
    """Straight to Redis: Django's RedisCache builds a client object per call, which costs more than the
    round trip itself on this hot path."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return {k: pickle.loads(v) for k, v in self.get_many_raw(keys).items()}  # noqa: S301

    def get_many_raw(self, keys: list[str]) -> dict[str, bytes]:
        return {k: v for k, v in zip(keys, hot_execute(("MGET", *keys))[0], strict=True) if v is not None}

    def set(self, key: str, value: Any, timeout: int | None) -> None:
        self.client.set(key, pickle.dumps(value), ex=timeout)

    def add(self, key: str, value: Any) -> None:
        self.client.set(key, pickle.dumps(value), nx=True)

    def delete(self, key: str) -> None:
        self.client.delete(key)

    def replace_generations(self, generations: dict[str, str], entries: list[str]) -> None:
        pipe = self.client.pipeline(transaction=True)
        for key, value in generations.items():
            pipe.set(key, pickle.dumps(value))
        pipe.delete(*entries)
        pipe.execute()


class _CacheStore:
    """Django's cache: LocMem in development without Redis (per process, see ADR 0031)."""

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return cache.get_many(keys)

    def set(self, key: str, value: Any, timeout: int | None) -> None:
        cache.set(key, value, timeout=timeout)

    def add(self, key: str, value: Any) -> None:
        cache.add(key, value, timeout=None)

    def delete(self, key: str) -> None:
        cache.delete(key)

    def replace_generations(self, generations: dict[str, str], entries: list[str]) -> None:
        cache.set_many(generations, timeout=None)
        cache.delete_many(entries)


def snapshot_store() -> _RedisStore | _CacheStore:
    client = limits.redis_client()
    return _RedisStore(client) if client is not None else _CacheStore()


def bump_generation(prefixes: Iterable[str]) -> None:
    """Invalidate the cached snapshots of these keys everywhere (shared cache)."""
    prefixes = list(prefixes)
    if not prefixes:
        return
    for prefix in prefixes:
        forget_warm(prefix)
    snapshot_store().replace_generations(
        {generation_key(p): secrets.token_hex(8) for p in prefixes}, [entry_key(p) for p in prefixes]
    )


def _setting(name: str) -> int:
    return int(getattr(settings, name, 0) or 0)


def key_limits(row: APIKey) -> Limits:
    def pick(value: int | None, setting: str) -> int:
        return int(value) if value is not None else _setting(setting)

    return Limits(
        rate_per_minute=pick(row.rate_limit_per_minute, "API_KEY_RATE_LIMIT_PER_MINUTE"),
        daily_requests=pick(row.daily_request_quota, "API_KEY_DAILY_REQUEST_QUOTA"),
        monthly_requests=pick(row.monthly_request_quota, "API_KEY_MONTHLY_REQUEST_QUOTA"),
        daily_tokens=pick(row.daily_token_quota, "API_KEY_DAILY_TOKEN_QUOTA"),
        monthly_tokens=pick(row.monthly_token_quota, "API_KEY_MONTHLY_TOKEN_QUOTA"),
    )


def organization_limits(organization_id: object) -> Limits:
    row = OrganizationAPILimits.objects.for_org(organization_id).first()

    def pick(field: str, setting: str) -> int:
        value = getattr(row, field, None) if row is not None else None
        return int(value) if value is not None else _setting(setting)

    return Limits(
        daily_requests=pick("daily_request_quota", "API_ORG_DAILY_REQUEST_QUOTA"),
        monthly_requests=pick("monthly_request_quota", "API_ORG_MONTHLY_REQUEST_QUOTA"),
        daily_tokens=pick("daily_token_quota", "API_ORG_DAILY_TOKEN_QUOTA"),
        monthly_tokens=pick("monthly_token_quota", "API_ORG_MONTHLY_TOKEN_QUOTA"),
    )


def _organization_limits_key(organization_id: object) -> str:
    return f"apikey:orglimits:{organization_id}"


def organization_limits_cached(organization_id: object) -> Limits:
    """The organization's effective limits for callers without a key (members, widget visitors): cached like
    key snapshots, forgotten when the organization's limits change."""
    store = snapshot_store()
    name = _organization_limits_key(organization_id)
    found = store.get_many([name]).get(name)
    if isinstance(found, Limits):
        return found
    value = organization_limits(organization_id)
    store.set(name, value, timeout=_setting("API_KEY_CACHE_SECONDS") or 60)
    return value


def organization_limits_and_token_usage(organization_id: object, *, now: Any) -> tuple[Limits, tuple[int, int]]:
    """What the token quota check of a caller without a key reads: the organization's limits (cached as
    `organization_limits_cached` keeps them) and the tokens it used today and this month
    (`limits.organization_token_usage`); with Redis in one round trip instead of two (ADR 0126)."""
    store = snapshot_store()
    if not isinstance(store, _RedisStore):
        return organization_limits_cached(organization_id), limits.organization_token_usage(organization_id, now=now)
    name = _organization_limits_key(organization_id)
    held, day, month = hot_execute(("GET", name), *limits.organization_token_usage_reads(organization_id, now=now))
    found = pickle.loads(held) if held is not None else None  # noqa: S301
    if not isinstance(found, Limits):
        found = organization_limits(organization_id)
        store.set(name, found, timeout=_setting("API_KEY_CACHE_SECONDS") or 60)
    return found, (int(day or 0), int(month or 0))


def forget_organization_limits(organization_id: object) -> None:
    snapshot_store().delete(_organization_limits_key(organization_id))


def snapshot(row: APIKey, generation: str) -> APIKeyPrincipal:
    return APIKeyPrincipal(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        organization=row.organization,
        secret_hash=row.secret_hash,
        scopes=frozenset(row.scopes),
        bot_ids=frozenset(str(i) for i in row.bot_ids),
        collection_ids=frozenset(str(i) for i in row.collection_ids),
        limits=key_limits(row),
        org_limits=organization_limits(row.organization_id),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        generation=generation,
    )


# prefix → (snapshot, raw generation token it was read under, monotonic time it leaves this process)
_warm: OrderedDict[str, tuple[APIKeyPrincipal, bytes, float]] = OrderedDict()
WARM_MAX_KEYS = 10_000


def warm_principal(prefix: str) -> tuple[APIKeyPrincipal, bytes] | None:
    """This process's snapshot of the key and the raw generation token to check it against, if still fresh."""
    found = _warm.get(prefix)
    if found is None:
        return None
    if found[2] <= time.monotonic():
        _warm.pop(prefix, None)
        return None
    return found[0], found[1]


def forget_warm(prefix: str | None = None) -> None:
    """Drop this process's snapshot of one key (its generation moved), or of every key."""
    if prefix is None:
        _warm.clear()
    else:
        _warm.pop(prefix, None)


def _remember_warm(prefix: str, principal: APIKeyPrincipal, generation: bytes) -> None:
    _warm[prefix] = (principal, generation, time.monotonic() + (_setting("API_KEY_CACHE_SECONDS") or 60))
    _warm.move_to_end(prefix)
    while len(_warm) > WARM_MAX_KEYS:
        _warm.popitem(last=False)


def load_principal(prefix: str) -> APIKeyPrincipal | None:
    """The key with this prefix (revoked and expired ones included: the caller decides), or None."""
    store = snapshot_store()
    entry_name, generation_name = entry_key(prefix), generation_key(prefix)
    if isinstance(store, _RedisStore):
        raw = store.get_many_raw([entry_name, generation_name])
        found = {k: pickle.loads(v) for k, v in raw.items()}  # noqa: S301
    else:
        raw, found = {}, store.get_many([entry_name, generation_name])
    generation = found.get(generation_name)
    entry = found.get(entry_name)
    if generation is not None and isinstance(entry, APIKeyPrincipal | _Unknown) and entry.generation == generation:
        if isinstance(entry, APIKeyPrincipal) and generation_name in raw:
            _remember_warm(prefix, entry, raw[generation_name])
        return entry if isinstance(entry, APIKeyPrincipal) else None
    if generation is None:
        store.add(generation_name, secrets.token_hex(8))
        generation = store.get_many([generation_name]).get(generation_name)
    row = APIKey.objects.unscoped().select_related("organization").filter(prefix=prefix).first()
    found_entry: APIKeyPrincipal | _Unknown = (
        snapshot(row, str(generation)) if row is not None else _Unknown(str(generation))
    )
    if generation is not None:
        store.set(entry_name, found_entry, timeout=_setting("API_KEY_CACHE_SECONDS") or 60)
    return found_entry if isinstance(found_entry, APIKeyPrincipal) else None
