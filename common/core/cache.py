"""Django's Redis cache, without a new redis-py client object per call.

Django's `RedisCacheClient.get_client()` builds a `redis.Redis` around the (kept) connection pool on every cache
call; building one fills its table of about 170 reply callbacks, which cost more CPU than the round trip it
serves (a chat answer made three such calls). This backend builds it once per pool.

Django's cache objects are per thread, and so were its connection pools: under ASGI every request runs in a thread
of its own, so every request opened a new Redis connection (and built a pool and a client) for its first cache
call. Here the pools and their clients are shared by the process's threads (a redis-py client over a pool is
thread-safe), made again in a forked child.
"""

from __future__ import annotations

import os
import threading
from typing import Any

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
