"""The hub's periodic work (access checks, presence refresh) is spread over its interval: each socket comes up once
per interval, a share of the sockets at each tick, never all of them at once."""

from __future__ import annotations

import random
from collections import Counter

from apps.chat.hub import TURNS, _Rota


def _shared_out(count: int) -> list[set[object]]:
    turns: list[set[object]] = [set() for _ in range(TURNS)]
    for _ in range(count):
        turns[random.randrange(TURNS)].add(object())
    return turns


def test_every_socket_is_checked_once_per_interval_a_share_at_each_tick():
    turns = _shared_out(6000)
    rota = _Rota()
    served = Counter()
    per_tick = []
    for _ in range(30):  # one interval of 30 s, ticking every second
        due = rota.due(turns, elapsed=1.0, interval=30.0)
        per_tick.append(len(due))
        served.update(id(socket) for socket in due)
    assert len(served) == 6000 and set(served.values()) == {1}
    assert max(per_tick) < 6000 / 10  # about 2 turns of 60 a tick (200 sockets), never the whole process


def test_a_tick_later_than_the_interval_checks_every_socket_once():
    turns = _shared_out(500)
    due = _Rota().due(turns, elapsed=45.0, interval=30.0)
    assert len(due) == len({id(socket) for socket in due}) == 500


def test_uneven_ticks_still_cover_every_socket_within_the_interval():
    turns = _shared_out(3000)
    rota = _Rota()
    served = Counter()
    for elapsed in [0.5, 1.75, 0.75, 3.25, 1.0, 2.75] * 2 + [0.0]:  # 20 s in all, ticks late and early
        served.update(id(socket) for socket in rota.due(turns, elapsed=elapsed, interval=20.0))
    assert len(served) == 3000 and set(served.values()) == {1}
