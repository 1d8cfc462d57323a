"""Django's Redis cache, without a new redis-py client object per call.

Django's `RedisCacheClient.get_client()` builds a `redis.Redis` around the (kept) connection pool on every cache
call; building one fills its table of about 170 reply callbacks, which cost more CPU than the round trip it
serves (a chat answer made three such calls). This backend builds it once per pool. Django's cache objects are
per thread and a redis-py client over a pool is thread-safe, so nothing else changes.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # Django's private helpers, which its stubs do not declare
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = django_client._get_connection_pool(write)
            client = self._clients[index] = django_client._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
