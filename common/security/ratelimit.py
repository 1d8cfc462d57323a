"""Fixed-window rate limits kept in Django's cache (Redis in production), so every process shares the counts."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from django.core.cache import cache

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/min' → (10, 60). Same notation as DRF's throttle rates."""
    count, period = rate.split("/")
    return int(count), _UNITS[period.strip()[0].lower()]


@dataclass(frozen=True)
class Window:
    key: str
    limit: int
    seconds: int

    def _slot(self) -> tuple[str, int]:
        now = time.time()
        slot = int(now // self.seconds)
        retry_after = max(1, int(self.seconds - (now % self.seconds)) + 1)
        return f"rl:{self.key}:{slot}", retry_after

    def take(self) -> int | None:
        """Count one event and admit it, or return the seconds to wait when it is over the limit.

        Counting first (one atomic INCR) means concurrent callers can never be admitted beyond the limit.
        """
        cache_key, retry_after = self._slot()
        return retry_after if self._incr(cache_key) > self.limit else None

    def give_back(self) -> None:
        """Un-count one event taken with take() (e.g. a login attempt that turned out to succeed)."""
        cache_key, _ = self._slot()
        with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to give back
            cache.decr(cache_key)

    def hit(self, amount: int = 1) -> int:
        """Count `amount` events (e.g. tokens spent); returns the count in the current window."""
        return self._incr(self._slot()[0], amount)

    def count(self) -> int:
        """The count in the current window, without counting anything."""
        return int(cache.get(self._slot()[0]) or 0)

    def retry_after(self) -> int:
        """Seconds until the current window ends."""
        return self._slot()[1]

    def _incr(self, cache_key: str, amount: int = 1) -> int:
        cache.add(cache_key, 0, timeout=self.seconds + 1)
        try:
            return int(cache.incr(cache_key, amount))
        except ValueError:  # expired between add and incr
            cache.set(cache_key, amount, timeout=self.seconds + 1)
            return amount

    def reset(self) -> None:
        cache.delete(self._slot()[0])


def window(scope: str, ident: str, rate: str) -> Window:
    limit, seconds = parse_rate(rate)
    return Window(key=f"{scope}:{ident}", limit=limit, seconds=seconds)
