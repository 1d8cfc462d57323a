"""Who is online in an organization, kept cheaply in the cache: each socket writes its own entry under the
member's key with an expiry it refreshes; a member is online while one entry is fresh. A socket that dies
without closing drops out when its entry expires (REALTIME_PRESENCE_SECONDS). Presence is best effort: while the
cache (Redis) is away, a socket is neither announced nor listed, and nothing else fails."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import BaseCache, caches

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def _best_effort(default: _T) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """The cache is down: answer `default` (offline, nobody online) instead of failing the socket."""

    def decorate(function: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> _T:
            try:
                return function(*args, **kwargs)
            except Exception:
                logger.warning("presence unavailable (%s)", function.__name__, exc_info=True)
                return default

        return wrapper

    return decorate


@functools.cache
def _cache() -> BaseCache:
    """One cache client for the process's presence work. `django.core.cache.cache` is one client per asyncio
    context under ASGI (Django's cache handler is not thread-critical), so every socket made a client of its
    own, with its own Redis connection pool, and kept a connection open for its lifetime: at 10,000 sockets
    that was 10,000 Redis connections (Redis's default `maxclients`) and 20,000 open files. A redis-py pool is
    thread-safe; this one holds as many connections as threads use it at once."""
    return caches.create_connection("default")


def _key(organization_id: Any, user_id: Any) -> str:
    return f"presence:{organization_id}:{user_id}"


def _ttl() -> int:
    return int(settings.REALTIME_PRESENCE_SECONDS)


def _fresh(entries: dict[str, float] | None, now: float) -> dict[str, float]:
    return {channel: until for channel, until in (entries or {}).items() if until > now}


_NOBODY: list[str] = []


@_best_effort((False, _NOBODY))
def presence_arrive(
    *, organization_id: Any, user_id: Any, channel: str, member_ids: list[Any]
) -> tuple[bool, list[str]]:
    """A socket opens: mark it alive for a TTL, and tell which of these members are online (its own member
    included), in one read and one write of the cache. Also whether the member was offline until now."""
    now, own = time.time(), _key(organization_id, user_id)
    keys = {_key(organization_id, u): str(u) for u in member_ids}
    found = _cache().get_many([*keys, own])
    entries = _fresh(found.get(own), now)
    was_offline = not entries
    entries[channel] = now + _ttl()
    _cache().set(own, entries, timeout=_ttl())
    online = {keys[k] for k, found_entries in found.items() if k in keys and _fresh(found_entries, now)}
    return was_offline, sorted(online | {str(user_id)})


@_best_effort(None)
def presence_touch_many(*, entries: list[tuple[Any, Any, str]]) -> None:
    """Mark every socket of a server process alive for another TTL ((organization id, user id, channel) each), in
    one read and one write of the cache."""
    now, until = time.time(), time.time() + _ttl()
    keys: dict[str, list[str]] = {}
    for organization_id, user_id, channel in entries:
        keys.setdefault(_key(organization_id, user_id), []).append(channel)
    found = _cache().get_many(list(keys))
    fresh = {}
    for key, channels in keys.items():
        current = _fresh(found.get(key), now)
        current.update(dict.fromkeys(channels, until))
        fresh[key] = current
    _cache().set_many(fresh, timeout=_ttl())


@_best_effort(False)
def presence_leave(*, organization_id: Any, user_id: Any, channel: str) -> bool:
    """Forget this socket. True when the member has no other live socket (they are now offline)."""
    now, key = time.time(), _key(organization_id, user_id)
    entries = _fresh(_cache().get(key), now)
    entries.pop(channel, None)
    if entries:
        _cache().set(key, entries, timeout=_ttl())
        return False
    _cache().delete(key)
    return True
