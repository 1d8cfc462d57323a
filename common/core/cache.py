"""Django's Redis cache, without a new redis-py client object per call.

Django's `RedisCacheClient.get_client()` builds a `redis.Redis` around the (kept) connection pool on every cache
call; building one fills its table of about 170 reply callbacks, which cost more CPU than the round trip it
serves (a chat answer made three such calls). This backend builds it once per pool.

Django's cache objects are per thread, and so were its connection pools: under ASGI every request runs in a thread
of its own, so every request opened a new Redis connection (and built a pool and a client) for its first cache
call. Here the pools and their clients are shared by the process's threads (a redis-py client over a pool is
thread-safe), made again in a forked child.

`cache_set_command` / `cache_delete_command`: the command a `cache.set` / `cache.delete` of the default cache sends
to Redis, for hot paths that send it with common.core.redis (with other commands in one round trip, ADR 0126).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

_shared: dict[tuple[int, str, str], Any] = {}  # (process id, server, pool options) → client over its pool
_shared_lock = threading.Lock()


class RedisCacheClient(DjangoRedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # Django's private helpers, which its stubs do not declare
        server = django_client._servers[django_client._get_connection_pool_index(write)]
        shared = (os.getpid(), server, repr(sorted(django_client._pool_options.items(), key=str)))
        client = _shared.get(shared)
        if client is None:
            with _shared_lock:
                client = _shared.get(shared)
                if client is None:
                    pool = django_client._pool_class.from_url(server, **django_client._pool_options)
                    client = _shared[shared] = django_client._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


Command = tuple[str, tuple[Any, ...]]  # (the Redis server's URL, the command)


def _redis_default() -> Any:
    backend = caches["default"]
    return backend if isinstance(backend, DjangoRedisCache) else None


def cache_set_command(key: str, value: Any, timeout: int) -> Command | None:
    """What `cache.set(key, value, timeout)` sends to Redis (the same key, serialization and expiry), or None when
    the default cache is not Redis (then call `cache.set`)."""
    backend = _redis_default()
    if backend is None:
        return None
    client: Any = backend._cache
    made = backend.make_and_validate_key(key)
    seconds = backend.get_backend_timeout(timeout)
    if seconds == 0:  # as Django's cache does with a timeout of 0
        return client._servers[0], ("DEL", made)
    command: tuple[Any, ...] = ("SET", made, client._serializer.dumps(value))
    if seconds is not None:
        command += ("EX", seconds)
    return client._servers[0], command


def cache_delete_command(key: str) -> Command | None:
    """What `cache.delete(key)` sends to Redis, or None when the default cache is not Redis."""
    backend = _redis_default()
    if backend is None:
        return None
    return backend._cache._servers[0], ("DEL", backend.make_and_validate_key(key))
