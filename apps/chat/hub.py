"""One realtime hub per server process (per event loop): it holds the channel-layer subscriptions of every
socket of the process, reads from PostgreSQL once per ring for all of them, and does their periodic work.

Without it each socket of a 200-member room was its own channel-layer member (a ring cost 200 Redis pushes and
200 pops), read the room twice per ring on its own (400 queries, one database thread), and kept two timers
(an access check every 30 s, a presence refresh every 20 s: 10,000 idle sockets made 800 queries and cache
writes a second). With it:

- the process's channel joins each room, organization and member group once, whatever the number of its
  sockets there (`subscribe`/`unsubscribe` count them), so a ring costs one message per process; sockets
  read no channel of their own (with channels_redis, thousands of idle readers woke every few seconds);
- a ring for room R up to seq N is coalesced with the rings that follow it while it is being served, and
  served by one read: the messages after the furthest-behind socket's position and the room's current
  members, each message encoded once; every socket then sends what it lacks, in order, under its own lock;
- edits and deletions of a room are served in the same per-room order, after the messages;
- every REALTIME_ACCESS_CHECK_SECONDS each socket's member is checked again (may they stay?), and every third of
  REALTIME_PRESENCE_SECONDS each socket's presence is refreshed, spread over the interval: every second (the
  sweep's tick) one query and one cache round trip serve the sockets whose turn it is (ADR 0076); every
  REALTIME_GROUP_REFRESH_SECONDS the groups are joined again (a channel layer forgets a membership after its
  group expiry).

The channel layer stays a doorbell: a ring the hub misses costs latency (the next ring, the hub's catch-up
every REALTIME_CATCH_UP_SECONDS — one query for the last seq of every room of the process — or the client's
`resume` catches the socket up from the database), never a message.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import random
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections

from apps.chat import permissions, presence, selectors, trace
from apps.chatbot.selectors import conversations_last_seq

if TYPE_CHECKING:
    from apps.organizations.actors import Actor

logger = logging.getLogger(__name__)

DELIVERY_BATCH = 100  # messages read per query while catching a room up
BATCH_CHARS = 65536  # a `messages.new` frame carries messages up to this much JSON (clients' frame limits)
SWEEP_TICK = 1.0  # seconds between the hub's periodic turns (shorter when an interval is shorter)
TURNS = 60  # every socket takes one of this many turns, at random, for its periodic work


class Socket(Protocol):
    """What the hub needs of a connected consumer (apps.chat.consumers.RealtimeConsumer)."""

    actor: Actor
    channel_name: str
    rooms: dict[str, int]
    connected_at: float

    # Each hands the socket something to send and returns at once (the socket sends it in order, later).
    def send_frames(self, conversation: str, frames: Frames) -> None: ...

    def send_update(self, conversation: str, seq: int, text: str) -> None: ...

    def send_text(self, text: str, *, conversation: str | None = None) -> None: ...

    def room_gone(self, conversation: str) -> None: ...

    def member_event(self, event: dict[str, Any]) -> None: ...

    async def session_revoke(self, event: dict[str, Any]) -> None: ...


# The hub's reads of rooms have threads of their own: on the shared pool they queued behind the sockets' sends (a
# burst of sends kept a room's read waiting 200 ms and more before it ran; ADR 0075).
_READERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="realtime-hub")


def _read(function: Any) -> Any:
    """A read for a room's sockets, on the hub's own threads (never behind the sockets' database work)."""
    return database_sync_to_async(
        trace.threaded(_once_more_on_a_new_connection(function)), thread_sensitive=False, executor=_READERS
    )


def _once_more_on_a_new_connection(function: Any) -> Any:
    """The hub's threads live as long as the process, and so do their connections: one that PostgreSQL ended (a
    restart, a failover, an administrator) fails its next query. A read is safe to repeat, so it is repeated once
    on a fresh connection instead of leaving the room's sockets without the messages they were rung for."""

    def read(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (OperationalError, InterfaceError):
            logger.warning("a realtime hub read failed on its connection; reading again on a new one", exc_info=True)
            for connection in connections.all(initialized_only=True):
                with contextlib.suppress(DatabaseError):
                    connection.close()
            return function(*args, **kwargs)

    return read


def _periodic(function: Any) -> Any:
    """The periodic work for every socket (access, presence), on the shared pool: it never delays a room's read."""
    return database_sync_to_async(trace.threaded(function), thread_sensitive=False)


class _Rota:
    """A periodic job spread over its interval: the sockets are shared out over TURNS turns at random (when they
    attach), and each tick the job serves the turns that the elapsed share of its interval covers. Every socket
    still comes up once per interval, but a tick costs 1/TURNS of the job instead of all of it at once: with
    thousands of sockets, the whole job (a query or cache round trip over every socket, and the Python work to
    build and read it, about 100 ms at 5,000 sockets) held the GIL long enough to delay every delivery in flight
    (ADR 0076). Each process starts at a random turn, so processes do not tick in step."""

    def __init__(self) -> None:
        self.position = random.uniform(0, TURNS)

    def due(self, turns: list[set[Socket]], *, elapsed: float, interval: float) -> list[Socket]:
        start = self.position
        end = start + TURNS * min(elapsed / interval, 1.0) if interval > 0 else start + TURNS
        self.position = end % TURNS
        return [socket for turn in range(math.floor(start), math.floor(end)) for socket in turns[turn % TURNS]]


class Frames:
    """Messages of one room read once for every socket behind: each encoded once (`message.new`), and, for the
    sockets that take batches (`batch=1` on connect), the `messages.new` frame of the messages from a given one on,
    built once for all the sockets that lack the same ones. A socket handed several messages at once then writes
    one frame instead of one per message: back to back in a 200-member room, the event loop's time went to the
    writes, one per message per socket (ADR 0079)."""

    def __init__(self, conversation: str, messages: list[dict[str, Any]]) -> None:
        self.conversation = conversation
        self.seqs = [m["seq"] for m in messages]
        self.bodies = [encode(m) for m in messages]
        self.singles = ['{"type":"message.new","message":' + body + "}" for body in self.bodies]
        self._batches: dict[int, list[tuple[int, str]]] = {}

    def after(self, position: int) -> int:
        """The index of the first message after seq `position` (len(self.seqs) if none)."""
        return bisect.bisect_right(self.seqs, position)

    def for_socket(self, start: int, *, batched: bool) -> list[tuple[int, str]]:
        """The frames of the messages from index `start` on, each with the last seq it carries: batched for a
        socket that takes batches and lacks several, else one `message.new` each."""
        if batched and len(self.seqs) - start > 1:
            return self.batches(start)
        return list(zip(self.seqs[start:], self.singles[start:], strict=True))

    def batches(self, start: int) -> list[tuple[int, str]]:
        """The messages from index `start` on as frames of at most BATCH_CHARS each (a message alone as its
        `message.new`, several as one `messages.new`), each with the last seq it carries."""
        found = self._batches.get(start)
        if found is None:
            found = self._batches[start] = []
            while start < len(self.seqs):
                end, size = start + 1, len(self.bodies[start])
                while end < len(self.seqs) and size + len(self.bodies[end]) <= BATCH_CHARS:
                    size += len(self.bodies[end])
                    end += 1
                text = (
                    self.singles[start]
                    if end == start + 1
                    else '{"type":"messages.new","conversation":'
                    + encode(self.conversation)
                    + ',"messages":['
                    + ",".join(self.bodies[start:end])
                    + "]}"
                )
                found.append((self.seqs[end - 1], text))
                start = end
        return found


@dataclass
class _Feed:
    """A room's pending work: deliver up to `wanted` (rings), then the messages in `updated` (edits)."""

    wanted: int = 0
    updated: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.sockets: set[Socket] = set()
        self.turns: list[set[Socket]] = [set() for _ in range(TURNS)]  # the sockets, shared out for periodic work
        self.turn_of: dict[Socket, int] = {}
        self.subscribers: dict[str, set[Socket]] = {}  # group -> the sockets of this process in it
        self.groups_of: dict[Socket, set[str]] = {}  # socket -> its groups (a detach walks its own, not every one)
        self.feeds: dict[str, _Feed] = {}
        self.presence: dict[str, dict[str, str]] = {}  # organization -> user -> status, not yet announced
        self.presence_tasks: dict[str, asyncio.Task[None]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.starting: asyncio.Lock = asyncio.Lock()

    # ---------------------------------------------------------------------------------------------- sockets

    async def attach(self, socket: Socket, groups: list[str]) -> None:
        async with self.starting:
            if self.channel is None and self.layer is not None:
                self.channel = await self.layer.new_channel()
                self.tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._sweep())]
        trace.watch_loop()
        self.sockets.add(socket)
        self.turn_of[socket] = turn = random.randrange(TURNS)
        self.turns[turn].add(socket)
        for group in groups:
            await self.subscribe(group, socket)

    async def detach(self, socket: Socket) -> None:
        self.sockets.discard(socket)
        turn = self.turn_of.pop(socket, None)
        if turn is not None:
            self.turns[turn].discard(socket)
        for group in list(self.groups_of.pop(socket, ())):
            await self.unsubscribe(group, socket)
        if not self.sockets:  # the last socket of this loop: stop listening
            tasks, self.tasks, self.channel = self.tasks, [], None
            feeds = [f.task for f in self.feeds.values() if f.task is not None]
            for task in [*tasks, *feeds, *self.presence_tasks.values()]:
                task.cancel()
            self.feeds.clear()
            self.presence.clear()
            self.presence_tasks.clear()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def subscribe(self, group: str, socket: Socket) -> None:
        if socket not in self.sockets:  # it closed meanwhile (a room joined as its disconnect ran): nothing to hear
            return
        members = self.subscribers.setdefault(group, set())
        first = not members
        members.add(socket)
        self.groups_of.setdefault(socket, set()).add(group)
        if first and self.channel is not None and self.layer is not None:
            await self.layer.group_add(group, self.channel)

    async def unsubscribe(self, group: str, socket: Socket) -> None:
        groups = self.groups_of.get(socket)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self.groups_of[socket]
        members = self.subscribers.get(group)
        if members is None:
            return
        members.discard(socket)
        if not members:
            del self.subscribers[group]
            if self.channel is not None and self.layer is not None:
                with contextlib.suppress(Exception):
                    await self.layer.group_discard(group, self.channel)

    # ---------------------------------------------------------------------------------------------- rings

    async def _receive(self) -> None:
        assert self.layer is not None and self.channel is not None
        channel = self.channel
        while True:
            try:
                event = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarting: rings are lost meanwhile, never messages
                logger.warning("the realtime hub could not read its channel", exc_info=True)
                close_pools = getattr(self.layer, "close_pools", None)
                if close_pools is not None:  # pooled connections to a Redis that went away are dead: drop them
                    with contextlib.suppress(Exception):
                        await close_pools()
                await asyncio.sleep(1)
                with contextlib.suppress(Exception):  # a restarted Redis forgot the groups: join them again
                    await self._rejoin_groups()
                continue
            try:
                await self._dispatch(event)
            except Exception:
                logger.exception("the realtime hub failed to dispatch %s", event.get("type"))

    async def _dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "room.message":
            self.ring(str(event["conversation"]), int(event.get("seq", 0)))
        elif kind == "room.updated":
            self._feed(str(event["conversation"])).updated.add(str(event["message"]))
            self._serve(str(event["conversation"]))
        elif kind in ("session.revoke", "room.membership"):
            group = member_group(organization_id=event.get("organization"), user_id=event.get("user"))
            for socket in list(self.subscribers.get(group, ())):
                socket.member_event(event)
        elif kind == "handoff.changed":  # a widget conversation that asked for a person (apps.widget rings it)
            handoff = {k: event.get(k) for k in ("conversation", "state", "seq", "agent")}
            handoff_text = encode({"type": event.get("event") or "handoff.changed", **handoff})
            for socket in list(self.subscribers.get(organization_group(event.get("organization")), ())):
                if permissions.may_act_on_handoffs(socket.actor):  # the members /api/v1/handoffs lets act
                    socket.send_text(handoff_text)
        elif kind == "presence.changed":
            organization = str(event.get("organization"))
            self.presence.setdefault(organization, {})[str(event["user"])] = str(event["status"])
            if organization not in self.presence_tasks:
                self.presence_tasks[organization] = asyncio.create_task(self._announce_presence(organization))
        else:
            frame = room_frame(event)
            if frame is None:
                return
            conversation, text = str(event["conversation"]), encode(frame)
            for socket in list(self.subscribers.get(room_group(conversation), ())):
                if conversation in socket.rooms and event.get("from") != socket.channel_name:
                    socket.send_text(text, conversation=conversation)

    async def _announce_presence(self, organization: str) -> None:
        """Members who came or went within REALTIME_PRESENCE_BATCH_SECONDS are announced together: a frame per
        socket per window, not one per member (two hundred colleagues opening the app at nine would otherwise
        cost forty thousand frames)."""
        try:
            await asyncio.sleep(float(settings.REALTIME_PRESENCE_BATCH_SECONDS))
        finally:
            self.presence_tasks.pop(organization, None)
        changes = self.presence.pop(organization, {})
        texts: dict[str | None, str | None] = {}
        for socket in list(self.subscribers.get(organization_group(organization), ())):
            own = str(socket.actor.user_id)
            key = own if own in changes else None  # one's own presence is not news
            if key not in texts:
                texts[key] = presence_frame({u: status for u, status in changes.items() if u != key})
            text = texts[key]
            if text is not None:
                socket.send_text(text)

    def ring(self, conversation: str, seq: int) -> None:
        """Room `conversation` has messages up to `seq`: serve this process's sockets that lack them. The channel
        layer's ring calls it, and so does a socket of this process right after storing its member's message
        (its process need not wait for the ring, and the sender's socket reads with the others, not alone)."""
        trace.mark(seq, "hub_rang")
        feed = self._feed(conversation)
        feed.wanted = max(feed.wanted, seq)
        self._serve(conversation)

    def _feed(self, conversation: str) -> _Feed:
        return self.feeds.setdefault(conversation, _Feed())

    def _serve(self, conversation: str) -> None:
        feed = self.feeds[conversation]
        if feed.task is None:
            feed.task = asyncio.create_task(self._serve_room(conversation, feed))

    async def _serve_room(self, conversation: str, feed: _Feed) -> None:
        """Rings that arrive while a room is served are coalesced into the next read. A socket busy with a frame
        of its own takes what it is handed later (its outbox): `handed` keeps the hub from reading for it again."""
        handed: dict[Socket, int] = {}
        try:
            while True:
                sockets = [s for s in self.subscribers.get(room_group(conversation), ()) if conversation in s.rooms]
                behind = [s for s in sockets if max(s.rooms[conversation], handed.get(s, 0)) < feed.wanted]
                if behind:
                    last = await self._deliver(conversation, behind, feed, handed)
                    for socket in behind:
                        handed[socket] = max(handed.get(socket, 0), last)
                elif feed.updated:
                    updated, feed.updated = feed.updated, set()
                    await self._deliver_updates(conversation, sockets, updated)
                else:
                    return
        except Exception:
            logger.exception("the realtime hub failed to serve room %s", conversation)
        finally:
            feed.task = None
            if self.feeds.get(conversation) is feed and not feed.updated:
                del self.feeds[conversation]

    async def _deliver(self, conversation: str, behind: list[Socket], feed: _Feed, handed: dict[Socket, int]) -> int:
        """One read for every socket behind; returns the last seq read."""
        after = min(max(s.rooms[conversation], handed.get(s, 0)) for s in behind)
        wanted = feed.wanted
        asked = time.perf_counter()
        read = await _read(selectors.room_messages_after)(
            organization_id=behind[0].actor.organization_id,
            conversation_id=conversation,
            after=after,
            limit=DELIVERY_BATCH,
        )
        for m in read.messages:
            trace.mark(m["seq"], "read_asked", asked)
            trace.mark(m["seq"], "read_done")
        frames = Frames(conversation, read.messages)
        for socket in behind:
            if str(socket.actor.user_id) not in read.members:
                socket.room_gone(conversation)
            else:
                socket.send_frames(conversation, frames)
        for seq in frames.seqs:
            trace.mark(seq, "handed")
        if len(read.messages) < DELIVERY_BATCH and feed.wanted == wanted and read.last_seq < wanted:
            feed.wanted = read.last_seq  # a ring ahead of the database (a hand-made one): nothing more to read
        return read.last_seq

    async def _deliver_updates(self, conversation: str, sockets: list[Socket], message_ids: set[str]) -> None:
        if not sockets:
            return
        read = await _read(selectors.room_messages_by_id)(
            organization_id=sockets[0].actor.organization_id,
            conversation_id=conversation,
            message_ids=list(message_ids),
        )
        for message in read.messages:
            kind = "message.deleted" if message["deleted"] else "message.edited"
            text = encode({"type": kind, "message": message})
            for socket in sockets:
                if str(socket.actor.user_id) in read.members:
                    socket.send_update(conversation, message["seq"], text)

    # ---------------------------------------------------------------------------------------------- periodic

    async def _sweep(self) -> None:
        access, presence_rota = _Rota(), _Rota()
        last = time.monotonic()
        groups_due = catch_up_due = last
        while True:
            access_every = float(settings.REALTIME_ACCESS_CHECK_SECONDS)
            presence_every = float(settings.REALTIME_PRESENCE_SECONDS) / 3
            groups_every = float(settings.REALTIME_GROUP_REFRESH_SECONDS)
            catch_up_every = float(settings.REALTIME_CATCH_UP_SECONDS)
            await asyncio.sleep(min(SWEEP_TICK, access_every, presence_every, catch_up_every))
            now = time.monotonic()
            elapsed, last = now - last, now
            try:
                await self._check_access(access.due(self.turns, elapsed=elapsed, interval=access_every))
                await self._touch_presence(presence_rota.due(self.turns, elapsed=elapsed, interval=presence_every))
                if now - catch_up_due >= catch_up_every:
                    catch_up_due = now
                    await self._catch_up()
                if now - groups_due >= groups_every:
                    groups_due = now
                    await self._rejoin_groups()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("the realtime hub's periodic work failed", exc_info=True)

    async def _check_access(self, sockets: list[Socket]) -> None:
        sockets = [s for s in sockets if s in self.sockets]
        if not sockets:
            return
        allowed = await _periodic(selectors.realtime_access_allowed_many)(
            connections=[(s.actor.organization_id, s.actor.user_id, s.connected_at) for s in sockets]
        )
        for socket, ok in zip(sockets, allowed, strict=True):
            if not ok and socket in self.sockets:
                await socket.session_revoke({"reason": "access_revoked"})

    async def _touch_presence(self, sockets: list[Socket]) -> None:
        entries = [(s.actor.organization_id, s.actor.user_id, s.channel_name) for s in sockets if s in self.sockets]
        if entries:
            await _periodic(presence.presence_touch_many)(entries=entries)

    async def _catch_up(self) -> None:
        """Serve the rooms whose last seq is past what a socket of this process holds and that no ring is being
        served for: one query for every room of the process, however many. The channel layer is a doorbell
        that may stay silent (channels_redis drops a message over a group's capacity, Redis restarts); this
        bounds what a lost ring costs an open socket to REALTIME_CATCH_UP_SECONDS."""
        rooms = [g.removeprefix(ROOM_GROUP_PREFIX) for g in self.subscribers if g.startswith(ROOM_GROUP_PREFIX)]
        if not rooms:
            return
        latest = await _read(conversations_last_seq)(conversation_ids=rooms)
        for conversation, seq in latest.items():
            if conversation in self.feeds:
                continue  # being served: its read reaches the database's latest anyway
            sockets = self.subscribers.get(room_group(conversation), ())
            if any(s.rooms.get(conversation, seq) < seq for s in sockets):
                self.ring(conversation, seq)

    async def _rejoin_groups(self) -> None:
        if self.channel is None or self.layer is None:
            return
        for group in list(self.subscribers):
            await self.layer.group_add(group, self.channel)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (the server process's; each test's loop has its own)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]


def ring_from_thread(conversation: str, seq: int) -> None:
    """A room message was committed on one of the server's threads: ring this process's hub on its event loop at
    once, as the channel layer's ring does when it comes back from Redis a round trip later (ADR 0131). The channel
    layer's ring still goes out, for the other processes (here it finds nobody behind). Outside a server's thread
    (a Celery task, a script) there is no hub here: nothing to do."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return
    with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
        loop.call_soon_threadsafe(_ring_if_listening, loop, conversation, seq)


def _ring_if_listening(loop: asyncio.AbstractEventLoop, conversation: str, seq: int) -> None:
    listening = _hubs.get(loop)
    if listening is not None and room_group(conversation) in listening.subscribers:
        listening.ring(conversation, seq)


def member_group(*, organization_id: Any, user_id: Any) -> str:
    return f"member.{organization_id}.{user_id}"


def organization_group(organization_id: Any) -> str:
    return f"org.{organization_id}"


ROOM_GROUP_PREFIX = "room."


def room_group(conversation_id: Any) -> str:
    return f"{ROOM_GROUP_PREFIX}{conversation_id}"


def encode(frame: Any) -> str:
    import json

    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str)


def presence_frame(changes: dict[str, str]) -> str | None:
    """One member came or went: {"type": "presence", "user", "status"}; several: {"type": "presence",
    "changes": [{"user", "status"}, ...]}."""
    if not changes:
        return None
    if len(changes) == 1:
        ((user, status),) = changes.items()
        return encode({"type": "presence", "user": user, "status": status})
    return encode({"type": "presence", "changes": [{"user": u, "status": s} for u, s in changes.items()]})


def room_frame(event: dict[str, Any]) -> dict[str, Any] | None:
    """The frame a room event becomes, the same for every socket of the room."""
    kind, conversation = event.get("type"), event.get("conversation")
    keys: tuple[str, ...]
    if kind == "room.bot_token":
        keys = ("bot", "reply_to", "text")
        return {"type": "bot.token", "conversation": conversation, **{k: event[k] for k in keys}}
    if kind == "room.bot_error":
        keys = ("bot", "reply_to", "code", "message")
        return {"type": "bot.error", "conversation": conversation, **{k: event[k] for k in keys}}
    if kind == "room.typing":
        return {"type": "typing", "conversation": conversation, "user": event["user"]}
    if kind == "room.read":
        return {"type": "read", "conversation": conversation, "user": event["user"], "seq": event["seq"]}
    if kind == "room.changed":
        return {"type": "conversation.updated", "conversation": conversation}
    return None
