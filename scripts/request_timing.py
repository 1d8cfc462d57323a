"""Shared by the per-request benchmarks (bench-auth, bench-widget): a Redis of their own, a median timer, and a GET
through Django's ASGI handler (what the production server runs, without the socket)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
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


def asgi_get(application: Any, path: str, headers: dict[str, str]) -> Callable[[], Awaitable[int]]:
    """A coroutine function that GETs `path` through the ASGI `application` (Django's handler: each request's
    synchronous code runs on a thread of its own, as under uvicorn) and returns the status code."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def get() -> int:
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
        return int(sent[0]["status"])

    return get
