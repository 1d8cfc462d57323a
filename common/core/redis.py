"""Redis for hot paths.

`redis_client()`: one redis-py client per process for code that talks to Redis directly (Django's RedisCache
builds a client object on every call, which costs more than the round trip itself).

`hot_execute()` / `hot_script()`: the commands of a request's hot path (an API key's admission, a turn's cache
reads) on a connection taken from this process's idle ones for the call, packed by hiredis, sent with one write and
read back with redis-py's parser (hiredis). redis-py's command path (pool checkout and release, retry wrapper,
observability hooks, argument checks) costs about three times the CPU of the round trip it wraps; see
docs/adr/0105-redis-hot-path.md. The connections belong to the process, not to a thread: Django's ASGI handler runs
each request's synchronous code on a thread of its own, so a connection per thread was a new connection per
request (docs/adr/0115-api-key-request-cost.md).
Replies are raw (bytes, ints, lists), as Redis sends them.

`hot_write()` / `hot_writes_together()`: writes whose replies nobody reads (clearing a marker, adding to counters)
made inside the block are sent together, in one round trip, when it ends (ADR 0126); outside one, at once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


# url → connections no call is using; list.pop() and list.append() are atomic, so taking and giving back need no lock
_idle: dict[str, list[Any]] = {}
_idle_pid = os.getpid()
MAX_IDLE = 32  # per URL; a process rarely has more calls on the hot path at once than it has threads


def _checkout(url: str) -> Any:
    """A connection to `url` that no other call is using (made when none is idle; forgotten in a forked child)."""
    global _idle, _idle_pid
    if _idle_pid != os.getpid():
        _idle, _idle_pid = {}, os.getpid()  # the parent's sockets stay the parent's
    try:
        return _idle[url].pop()
    except (KeyError, IndexError):
        pool = client_for(url).connection_pool
        return pool.connection_class(**pool.connection_kwargs)


def _checkin(url: str, connection: Any) -> None:
    idle = _idle.setdefault(url, [])
    if len(idle) < MAX_IDLE:
        idle.append(connection)
    else:
        connection.disconnect()


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
    """Run `commands` (each a tuple like ("GET", name)) in one round trip on a connection of this process and return
    their raw replies. An error reply raises (after every reply has been read). A connection found broken (Redis
    restarted since its last use) is made again once; a timeout is not retried, since a command may have run."""
    url = url or settings.REDIS_URL
    connection = _checkout(url)
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
        _checkin(url, connection)  # a disconnected one connects again when next used


@lru_cache(maxsize=32)
def _sha(source: str) -> str:
    return hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


def hot_script(source: str, keys: Sequence[Any], args: Sequence[Any], *, url: str | None = None) -> Any:
    """EVALSHA of the Lua `source` (loaded with EVAL the first time a server has not seen it), one round trip."""
    try:
        return hot_execute(("EVALSHA", _sha(source), len(keys), *keys, *args), url=url)[0]
    except NoScriptError:
        return hot_execute(("EVAL", source, len(keys), *keys, *args), url=url)[0]


_batches = threading.local()  # this thread's open hot_writes_together() blocks: lists of (url, command)


def hot_write(*commands: Sequence[Any], url: str | None = None) -> None:
    """Run write `commands` whose replies are not needed: queued until the end of this thread's innermost
    `hot_writes_together()` block when one is open, else sent now (one round trip). An error reply raises where
    they are sent."""
    url = url or settings.REDIS_URL
    pending: list[list[tuple[str, Sequence[Any]]]] | None = getattr(_batches, "open", None)
    if pending:
        pending[-1].extend((url, command) for command in commands)
    else:
        _raise_nested(hot_execute(*commands, url=url))


def _raise_nested(replies: list[Any]) -> None:
    """An error inside a reply (a command of a MULTI/EXEC that failed) raises, as redis-py's pipeline does."""
    for reply in replies:
        for item in reply if isinstance(reply, list) else ():
            if isinstance(item, Exception):
                raise item


@contextmanager
def hot_writes_together() -> Iterator[None]:
    """The `hot_write()`s made inside are sent when the block ends (also when it raises), one round trip per Redis
    server, in order. A failure to send them raises there, after the block's own work."""
    if not hasattr(_batches, "open"):
        _batches.open = []
    queued: list[tuple[str, Sequence[Any]]] = []
    _batches.open.append(queued)
    try:
        yield
    finally:  # what was written before an error is sent as it would have been without the block
        _batches.open.pop()
        by_url: dict[str, list[Sequence[Any]]] = {}
        for url, command in queued:
            by_url.setdefault(url, []).append(command)
        for url, commands in by_url.items():
            _raise_nested(hot_execute(*commands, url=url))
