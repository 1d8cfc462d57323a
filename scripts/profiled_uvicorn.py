"""One uvicorn worker with cProfile on every thread's CPU clock, for `make profile-chat PROFILE_ARGS=--server`.

Each thread (the event loop, Django's per-request threads, the answer stream threads) gets a profiler timed with
`time.thread_time`, so waiting is not counted. SIGUSR1 merges them into PROFILE_OUT and exits. Calls still open in a
live thread at that moment (an idle pool thread waiting for work) carry meaningless times: read the request's and
the stream's own functions (scripts/profile_chat.py prints them).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_profiles: list[cProfile.Profile] = []


def _profile_thread(*_: Any) -> None:
    profile = cProfile.Profile(time.thread_time)
    _profiles.append(profile)
    sys.setprofile(None)
    profile.enable()


def _dump(*_: Any) -> None:
    merged: pstats.Stats | None = None
    for profile in _profiles:
        profile.disable()
        profile.create_stats()
        if profile.stats:  # type: ignore[attr-defined]
            merged = pstats.Stats(profile) if merged is None else merged.add(profile)
    if merged is not None:
        merged.dump_stats(os.environ["PROFILE_OUT"])
    os._exit(0)


def main() -> None:
    import uvicorn

    threading.setprofile(_profile_thread)
    signal.signal(signal.SIGUSR1, _dump)
    _profile_thread()
    uvicorn.run("config.asgi:application", host="127.0.0.1", port=int(os.environ["PROFILE_PORT"]), log_level="warning")


if __name__ == "__main__":
    main()
