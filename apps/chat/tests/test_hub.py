"""The hub's periodic work (access checks, presence refresh) is spread over its interval: each socket comes up once
per interval, a share of the sockets at each tick, never all of them at once. A room's messages read once for all
its sockets are framed once, several to a frame for sockets that take batches."""

from __future__ import annotations

import json
import random
from collections import Counter

from apps.chat.hub import BATCH_CHARS, TURNS, Frames, Hub, _Rota


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


def _messages(*sizes: int) -> list[dict[str, object]]:
    return [{"seq": seq, "text": "x" * size} for seq, size in enumerate(sizes, start=1)]


def test_a_socket_behind_by_several_messages_gets_them_in_one_frame_from_its_own_position():
    frames = Frames("room-1", _messages(10, 10, 10))
    (last, text), *more = frames.batches(frames.after(1))
    assert not more and last == 3
    assert json.loads(text) == {"type": "messages.new", "conversation": "room-1", "messages": _messages(10, 10, 10)[1:]}
    assert frames.batches(frames.after(2)) == [(3, frames.singles[2])]  # one message alone: its `message.new`
    assert json.loads(frames.singles[2]) == {"type": "message.new", "message": _messages(10, 10, 10)[2]}
    assert frames.batches(frames.after(3)) == []


def test_long_messages_are_split_over_frames_a_client_can_take_in_order():
    sizes = (BATCH_CHARS // 2, BATCH_CHARS // 2, 10, BATCH_CHARS * 2, 10)
    frames = Frames("room-1", _messages(*sizes))
    sent = frames.batches(0)
    assert all(len(text) <= BATCH_CHARS * 2 + 200 for _, text in sent)
    assert len(sent) > 1
    seqs = []
    for last, text in sent:
        frame = json.loads(text)
        got = [m["seq"] for m in frame["messages"]] if frame["type"] == "messages.new" else [frame["message"]["seq"]]
        assert got[-1] == last
        seqs += got
    assert seqs == [1, 2, 3, 4, 5]


def test_a_socket_that_takes_no_batches_gets_one_message_new_per_message():
    frames = Frames("room-1", _messages(10, 10, 10))
    assert frames.for_socket(0, batched=False) == list(zip([1, 2, 3], frames.singles, strict=True))
    assert frames.for_socket(0, batched=True) == frames.batches(0) and len(frames.batches(0)) == 1
    assert frames.for_socket(2, batched=True) == [(3, frames.singles[2])]


class _Layer:
    """The channel layer's group calls, recorded."""

    def __init__(self) -> None:
        self.groups: set[str] = set()

    async def group_add(self, group: str, channel: str) -> None:
        self.groups.add(group)

    async def group_discard(self, group: str, channel: str) -> None:
        self.groups.discard(group)


def _hub() -> Hub:
    hub = Hub()
    hub.layer, hub.channel = _Layer(), "process-channel"  # listening already: no reader task in these tests
    return hub


async def test_a_socket_that_closes_leaves_its_own_groups_and_the_others_keep_theirs():
    hub = _hub()
    alice, bob = object(), object()
    await hub.attach(alice, ["member.o.alice", "org.o", "room.r"])
    await hub.attach(bob, ["member.o.bob", "org.o", "room.r", "room.s"])
    await hub.detach(bob)
    assert hub.layer.groups == {"member.o.alice", "org.o", "room.r"}
    assert hub.subscribers == {"member.o.alice": {alice}, "org.o": {alice}, "room.r": {alice}}
    await hub.unsubscribe("room.r", alice)  # the member left the room, the socket stays
    await hub.detach(alice)
    assert hub.layer.groups == set() and hub.subscribers == {} and hub.groups_of == {}


async def test_a_room_joined_after_the_socket_closed_is_not_listened_to():
    hub = _hub()
    alice, bob = object(), object()
    await hub.attach(alice, ["org.o"])
    await hub.attach(bob, ["org.o"])
    await hub.detach(bob)
    await hub.subscribe("room.r", bob)
    assert "room.r" not in hub.layer.groups and "room.r" not in hub.subscribers and bob not in hub.groups_of
