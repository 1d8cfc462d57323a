"""One Redis client per process for hot paths that talk to Redis directly (Django's RedisCache builds a client
object on every call, which costs more than the round trip itself)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings


@lru_cache(maxsize=4)
def client_for(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> Any | None:
    """The shared Redis client, or None when this deployment has no Redis (local development)."""
    if getattr(settings, "USE_REDIS", False) and settings.REDIS_URL:
        return client_for(settings.REDIS_URL)
    return None
