"""Cache, channel layer and broker settings derived from one optional Redis URL."""

from __future__ import annotations

from typing import Any

from config.embedded import VAR_DIR


def caches(redis_url: str) -> dict[str, Any]:
    if redis_url:
        # Django's RedisCache, with one redis-py client per pool instead of one per call (common.core.cache)
        return {"default": {"BACKEND": "common.core.cache.RedisCache", "LOCATION": redis_url}}
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "docent"}}


# The channel layer is a doorbell (docs/realtime.md): each server process reads one channel for all of its
# sockets (apps.chat.hub), so that channel gets every ring, typing and bot token of the process's rooms.
CHANNEL_CAPACITY = 2000  # rings waiting for a process before the layer drops more (channels_redis default: 100)
CHANNEL_EXPIRY = 30  # seconds a ring waits to be read before it is dropped (a stale ring is worth nothing)
GROUP_EXPIRY = 86400  # a group membership lives this long unless joined again (the hub rejoins every hour)
# channels_redis blocks 5 s reading a channel; redis-py's own 5 s socket timeout raced it and killed readers.
REDIS_SOCKET_TIMEOUT = 15
# redis-py's asyncio pool refuses (not waits) past 100 connections; a burst of sockets opening at once (group
# joins, presence) went over it. Each one is a Redis connection while in use.
REDIS_MAX_CONNECTIONS = 1000


def channel_layers(redis_url: str) -> dict[str, Any]:
    if redis_url:
        return {
            "default": {
                # channels_redis, riding out Redis restarts (ADR 0082)
                "BACKEND": "common.core.channel_layer.ResilientRedisChannelLayer",
                "CONFIG": {
                    "hosts": [
                        {
                            "address": redis_url,
                            "socket_timeout": REDIS_SOCKET_TIMEOUT,
                            "max_connections": REDIS_MAX_CONNECTIONS,
                        }
                    ],
                    "capacity": CHANNEL_CAPACITY,
                    "expiry": CHANNEL_EXPIRY,
                    "group_expiry": GROUP_EXPIRY,
                },
            }
        }
    return {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY, "expiry": CHANNEL_EXPIRY, "group_expiry": GROUP_EXPIRY},
        }
    }


def broker(redis_url: str, visibility_timeout: int = 3600) -> tuple[str, dict[str, Any]]:
    """Redis when available, otherwise Kombu's filesystem transport under var/ (no server needed)."""
    if redis_url:
        return redis_url, {"visibility_timeout": visibility_timeout}
    root = VAR_DIR / "broker"
    for sub in ("in", "processed", "control"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(root / "in"),
        "data_folder_out": str(root / "in"),
        "processed_folder": str(root / "processed"),
        "store_processed": False,
        "control_folder": str(root / "control"),
        # A worker whose slots are full looks again after this long (kombu's default, 1 s, left a freed
        # process idle for up to a second between documents).
        "polling_interval": 0.1,
    }


def with_pool(database: dict[str, Any], max_size: int) -> dict[str, Any]:
    """A psycopg connection pool per process instead of a connection per request (max_size 0: no pool).

    Not CONN_MAX_AGE under ASGI: requests run on many threads (the handler keeps 32 idle ones per process, and a
    burst starts more, ADR 0116), so persistent connections pile up, one per thread, until PostgreSQL refuses
    clients.
    """
    database.setdefault("OPTIONS", {})
    if max_size > 0:
        database["CONN_MAX_AGE"] = 0
        # The pool checks a connection before lending it, so after a database restart the dead connections are
        # dropped and replaced instead of failing one request each: with a round trip only when the connection's
        # socket shows the server said something while it was idle (common.core.postgresql, ADR 0123).
        database["ENGINE"] = "common.core.postgresql"
        database["CONN_HEALTH_CHECKS"] = True
        database["OPTIONS"] = {**database["OPTIONS"], "pool": {"min_size": 1, "max_size": max_size, "timeout": 10}}
    return database
