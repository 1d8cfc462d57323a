"""Shared by the per-request benchmarks (bench-auth, bench-widget): a Redis of their own, a median timer, and a GET
through an ASGI handler (what the production server runs, without the socket), and the thread hops of a call."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any


def bench_redis_url() -> str:
    """REDIS_URL if set, else the Redis the embedded default uses (started if needed), database 15 (its own)."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    from config.embedded import ensure_redis

    url = ensure_redis() or ""
    return url.rsplit("/", 1)[0] + "/15" if url else ""


def median_us(fn: Callable[[], Any], *, n: int, warmup: int) -> float:
    """Median wall time of `fn` in microseconds over `n` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


async def median_us_async(fn: Callable[[], Awaitable[Any]], *, n: int, warmup: int) -> float:
    """`median_us` for a coroutine function, on the running event loop."""
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def http_scope(path: str, headers: dict[str, str], *, host: str = "127.0.0.1") -> dict[str, Any]:
    """The ASGI scope of a GET of `path` with `headers`, from a loopback client."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host.encode()), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 40000),
        "server": (host, 8000),
    }


async def asgi_call(application: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one request through the ASGI `application` (a client that sends no body and stays connected); return
    the messages it sent."""
    sent: list[dict[str, Any]] = []
    body = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if body:
            return body.pop()
        await asyncio.Event().wait()  # the client never disconnects
        return {}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(dict(scope), receive, send)
    return sent


def asgi_get(application: Any, path: str, headers: dict[str, str]) -> Callable[[], Awaitable[int]]:
    """A coroutine function that GETs `path` through the ASGI `application` and returns the status code."""
    scope = http_scope(path, headers)

    async def get() -> int:
        return int((await asgi_call(application, scope))[0]["status"])

    return get


@contextlib.contextmanager
def counted_thread_hops() -> Iterator[dict[str, int]]:
    """Counts, while the block runs, the crossings between the event loop and a thread: asgiref's sync_to_async and
    async_to_sync calls."""
    from asgiref import sync

    counts = {"sync_to_async": 0, "async_to_sync": 0}
    to_async, to_sync = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

    async def counted_to_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["sync_to_async"] += 1
        return await to_async(self, *args, **kwargs)

    def counted_to_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["async_to_sync"] += 1
        return to_sync(self, *args, **kwargs)

    sync.SyncToAsync.__call__ = counted_to_async  # type: ignore[method-assign]
    sync.AsyncToSync.__call__ = counted_to_sync  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        sync.SyncToAsync.__call__ = to_async  # type: ignore[method-assign]
        sync.AsyncToSync.__call__ = to_sync  # type: ignore[method-assign]


async def thread_hops(fn: Callable[[], Awaitable[Any]]) -> str:
    """The crossings one call of `fn` makes (`counted_thread_hops`), for printing."""
    with counted_thread_hops() as counts:
        await fn()
    return ", ".join(f"{name} {count}" for name, count in counts.items())
