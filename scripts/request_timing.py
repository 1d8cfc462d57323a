"""Shared by the per-request benchmarks (bench-auth, bench-widget): a Redis of their own and a median timer."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
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
