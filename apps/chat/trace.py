"""Where a room message's delivery time goes: stage timestamps, garbage-collector pauses, event-loop stalls and
thread-pool waits of one server process, recorded only when `make bench-realtime --trace` starts the server
with recording on (`start`), and written out as JSON when it stops (`dump`). Off, every call is a no-op.

Stages of a message (keyed by its seq; the bench talks in one room), on `time.perf_counter()`, which on Linux is the
system's monotonic clock, so the bench's client process can line its own send and receive times up with them:
`received` (the socket got the `send` frame), `committed` (after the transaction, as the doorbell is rung), `rung`
(the ring was handed to the channel layer), `hub_rang` (the hub was rung: directly by the committing thread, by the
channel layer's ring, or by the sender's socket), `read_asked` / `read_done` (the hub's database read of the room),
`handed` (every socket of the room was handed its frames), and `written_first` / `written_last` (the first and last
of those sockets' sends completed)."""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import time
from pathlib import Path
from typing import Any

_state: dict[str, Any] | None = None
LOOP_TICK = 0.005  # the event-loop watcher's sleep; a wake-up this much later than asked is a stall
LOOP_STALL = 0.010


def start() -> None:
    """Record from now on (the bench's traced server calls this before serving)."""
    global _state
    _state = {"marks": {}, "gc": [], "stalls": [], "calls": [], "watched": set(), "full": 0}
    gc_started: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            gc_started["at"] = now
        elif _state is not None and "at" in gc_started:
            pause = now - gc_started["at"]
            if pause >= 0.001:
                generation = info.get("generation")
                # How many objects a full collection walked (counted after it, for the first few only: counting
                # them takes a while too).
                walked = len(gc.get_objects()) if generation == 2 and _state["full"] < 3 else None
                _state["full"] += generation == 2
                _state["gc"].append([gc_started["at"], pause, generation, info.get("collected"), walked])

    _state["on_gc"] = on_gc
    gc.callbacks.append(on_gc)


def stop() -> None:
    """Stop recording and forget what was recorded."""
    global _state
    if _state is not None:
        task = _state.get("task")
        if task is not None:
            task.cancel()
        gc.callbacks[:] = [c for c in gc.callbacks if c is not _state["on_gc"]]
    _state = None


def enabled() -> bool:
    return _state is not None


def mark(seq: int, stage: str, at: float | None = None) -> None:
    """The first time `stage` happened to message `seq` (a later one is ignored)."""
    if _state is None:
        return
    _state["marks"].setdefault(seq, {}).setdefault(stage, time.perf_counter() if at is None else at)


def mark_written(seq: int) -> None:
    """One socket's send of message `seq` completed."""
    if _state is None:
        return
    now = time.perf_counter()
    stages = _state["marks"].setdefault(seq, {})
    stages.setdefault("written_first", now)
    stages["written_last"] = now
    stages["written"] = stages.get("written", 0) + 1


def threaded(function: Any) -> Any:
    """`function` as run on the thread pool, recording when it was queued, began and ended (the wait for a free
    thread is the difference of the first two)."""
    if _state is None:
        return function
    queued = time.perf_counter()

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            if _state is not None:
                _state["calls"].append([function.__name__, queued, began, time.perf_counter()])

    return timed


def watch_loop() -> None:
    """Record the running event loop's stalls (a wake-up more than LOOP_STALL late), once per loop."""
    if _state is None:
        return
    loop = asyncio.get_running_loop()
    if id(loop) in _state["watched"]:
        return
    _state["watched"].add(id(loop))

    async def watch() -> None:
        while _state is not None:
            asked = time.perf_counter()
            await asyncio.sleep(LOOP_TICK)
            late = time.perf_counter() - asked - LOOP_TICK
            if late >= LOOP_STALL:
                _state["stalls"].append([asked, late])

    _state["task"] = loop.create_task(watch())


def dump(path: str | Path) -> None:
    if _state is None:
        return
    record = {key: _state[key] for key in ("gc", "stalls", "calls")}
    record["marks"] = {str(seq): stages for seq, stages in _state["marks"].items()}
    record["gc_thresholds"] = list(gc.get_threshold())
    record["gc_frozen"] = gc.get_freeze_count()
    Path(path).write_text(json.dumps(record))
