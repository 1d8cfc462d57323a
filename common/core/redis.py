"""Redis for hot paths.

`redis_client()`: one redis-py client per process for code that talks to Redis directly (Django's RedisCache
builds a client object on every call, which costs more than the round trip itself).

`hot_execute()` / `hot_script()`: the commands of a request's hot path (an API key's admission, a turn's cache
reads) on a connection the thread holds alone for the round trip (lent from the process's idle ones, and given
back after: under ASGI every request runs in a thread of its own, so a connection kept per thread was a new
connection per request), packed by hiredis, sent with one write and read back with
redis-py's parser (hiredis). redis-py's command path (pool checkout and release, retry wrapper, observability
hooks, argument checks) costs about three times the CPU of the round trip it wraps; see
docs/adr/0105-redis-hot-path.md.
Replies are raw (bytes, ints, lists), as Redis sends them.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict, deque
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import hiredis
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError


@lru_cache(maxsize=4)
def client_for(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> Any | None:
    """The shared Redis client, or None when this deployment has no Redis (local development)."""
    if getattr(settings, "USE_REDIS", False) and settings.REDIS_URL:
        return client_for(settings.REDIS_URL)
    return None


_idle: dict[tuple[int, str], deque[Any]] = defaultdict(deque)  # (process id, url) → connections not in use


def _lend_connection(url: str) -> tuple[deque[Any], Any]:
    """A connection to `url` that no other thread uses until it is given back (a new one when none is idle; a
    forked child makes its own), with the shared client's settings, and the idle list it goes back to."""
    idle = _idle[(os.getpid(), url)]
    try:
        return idle, idle.pop()  # deque.pop and append are atomic: no lock
    except IndexError:
        pool = client_for(url).connection_pool
        return idle, pool.connection_class(**pool.connection_kwargs)


def _round_trip(connection: Any, commands: Sequence[Sequence[Any]]) -> list[Any]:
    packed = b"".join(hiredis.pack_command(tuple(command)) for command in commands)
    connection.send_packed_command([packed], check_health=False)
    replies: list[Any] = []
    failure: Exception | None = None
    for _ in commands:  # every reply is read, even after an error reply, so the connection stays in step
        try:
            replies.append(connection.read_response())
        except ResponseError as error:  # an error reply (NOSCRIPT, WRONGTYPE ...)
            failure = failure or error
            replies.append(error)
    if failure is not None:
        raise failure
    return replies


def hot_execute(*commands: Sequence[Any], url: str | None = None) -> list[Any]:
    """Run `commands` (each a tuple like ("GET", name)) in one round trip on this thread's connection and return
    their raw replies. An error reply raises (after every reply has been read). A connection found broken (Redis
    restarted since its last use) is made again once; a timeout is not retried, since a command may have run."""
    url = url or settings.REDIS_URL
    idle, connection = _lend_connection(url)
    try:
        return _round_trip(connection, commands)
    except RedisConnectionError:
        connection.disconnect()
        try:
            return _round_trip(connection, commands)
        except Exception:
            connection.disconnect()
            raise
    except ResponseError:
        raise  # Redis answered: the connection is in step
    except BaseException:
        connection.disconnect()  # a timeout, a parse failure, an interrupt: the connection's state is unknown
        raise
    finally:
        idle.append(connection)  # a disconnected one connects again on its next use


@lru_cache(maxsize=32)
def _sha(source: str) -> str:
    return hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


def hot_script(source: str, keys: Sequence[Any], args: Sequence[Any], *, url: str | None = None) -> Any:
    """EVALSHA of the Lua `source` (loaded with EVAL the first time a server has not seen it), one round trip."""
    try:
        return hot_execute(("EVALSHA", _sha(source), len(keys), *keys, *args), url=url)[0]
    except NoScriptError:
        return hot_execute(("EVAL", source, len(keys), *keys, *args), url=url)[0]
