"""One WebSocket per client (`/ws/`), JSON frames (docs/realtime.md).

The consumer authenticates once at connect (`scope["actor"]`, set by common.jwt_middleware), has the
process's hub (apps.chat.hub) listen for it on its member's group (revocation, membership changes), its
organization's (presence) and each of its rooms', and answers frames. Every frame gets a reply or an `error`
frame with a code; a bad frame never closes the connection. The channel layer is only a doorbell: a ring
carries a room and a seq, and the socket is sent, from PostgreSQL, every message after the last one it
delivered for that room, so lost or coalesced rings cost nothing but latency, and `resume` fills a
reconnecting client in from its own numbers.

Close codes: 1013 try again later (the server could not serve the connect: database or cache short of
connections), 4401 not authenticated, 4403 access revoked (removed from the organization, tokens revoked,
account deactivated), 4404 unknown path, 4408 too far behind (the socket's outgoing queue overflowed).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from apps.chat import permissions, presence, selectors, services, trace
from apps.chat.hub import DELIVERY_BATCH, Frames, encode, hub, member_group, organization_group, room_group
from apps.organizations.actors import Actor
from common.core.errors import DomainError
from common.jwt_middleware import PROTOCOL

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNAUTHENTICATED = 4401
CLOSE_REVOKED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_FAR_BEHIND = 4408


def widget_conversation_group(conversation_id: Any) -> str:
    """The visitor sockets of one widget conversation (apps.widget joins them; agents' typing goes there)."""
    return f"widget.conversation.{conversation_id}"


RESUME_MAX_ROOMS = 500

# A socket's name is this process's random name and a number: unique across processes and restarts, and no call
# to os.urandom on the event loop per connect. That call lets go of the GIL, and taking it back waited for the
# pooled threads' Python work: 1.4 ms a connect on average during a burst (ADR 0131).
_PROCESS = uuid.uuid4().hex
_SOCKETS = itertools.count(1)


def _db(function: Any) -> Any:
    """Database work off the event loop, on the pooled threads: sockets do not queue behind one thread (each
    socket still awaits its own calls one at a time, so its frames keep their order)."""
    return database_sync_to_async(trace.threaded(function), thread_sensitive=False)


class TokenBucket:
    """Per-connection flood control: `rate` frames a second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


SEQ_MAX = 2**31 - 1  # Message.seq is a PositiveIntegerField


def _is_seq(value: Any, *, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= SEQ_MAX


async def connect_refuse(consumer: AsyncWebsocketConsumer, reason: str, *, protocol: str | None = None) -> None:
    """A connect the server cannot serve now (its database, cache or channel layer failed or is short of
    connections): accepted, then closed with 1013 (try again later) and logged, where an exception before
    accepting would be uvicorn's HTTP 500 at the handshake. Accepted with `protocol` when the client offered it
    (a browser that offered subprotocols drops a handshake that picks none, and its page never sees the code).
    The members' socket and the widget's visitor socket both refuse this way."""
    logger.warning(
        "realtime connect refused with %s on %s: %s", CLOSE_TRY_AGAIN_LATER, consumer.scope.get("path"), reason
    )
    await consumer.accept(subprotocol=agreed_protocol(consumer, protocol))
    await consumer.close(code=CLOSE_TRY_AGAIN_LATER)


def agreed_protocol(consumer: AsyncWebsocketConsumer, protocol: str | None) -> str | None:
    """`protocol` when the client offered it, else none: the subprotocol every accept of this socket agrees."""
    return protocol if protocol in (consumer.scope.get("subprotocols") or []) else None


__all__ = ["NotFoundConsumer", "RealtimeConsumer", "member_group", "organization_group", "room_group"]


class RealtimeConsumer(AsyncWebsocketConsumer):
    busy = False
    closed = False
    batched = False
    actor: Actor
    rooms: dict[str, int]
    delivering: asyncio.Lock
    # No channel of its own: the process's hub reads the channel layer for every socket (apps.chat.hub).
    channel_layer_alias = "realtime-sockets-read-through-the-hub"

    async def connect(self) -> None:
        actor = self.scope.get("actor")
        if self.scope.get("auth_unavailable"):
            await self._refuse("authentication could not run")
            return
        if not isinstance(actor, Actor) or actor.user is None or actor.organization is None:
            # Accept, then close with a code the client can read (closing before accepting is an HTTP 403), with
            # the subprotocol it offered: a browser drops a handshake that picks none, and never sees the code.
            await self.accept(subprotocol=agreed_protocol(self, PROTOCOL))
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.actor = actor
        self.connected_at = time.time()
        self.bucket = TokenBucket(float(settings.REALTIME_FRAMES_PER_SECOND), int(settings.REALTIME_FRAME_BURST))
        self.delivering = asyncio.Lock()  # one delivery at a time: seqs go out in order, each once
        self.outbox: list[Callable[[], Awaitable[None]]] = []
        self.sender: asyncio.Task[None] | None = None
        self.closed = False
        self.channel_name = f"socket.{_PROCESS}.{next(_SOCKETS)}"  # names it in presence entries and typing rings
        # `batch=1` on the URL: the client takes several messages of a room in one `messages.new` frame (ADR 0079).
        self.batched = b"batch=1" in (self.scope.get("query_string") or b"").split(b"&")
        try:
            # room id -> the last seq this socket delivered (or the room's last seq when the socket opened: what
            # came before is the client's to ask for, with `resume` or the history endpoint).
            state = await _db(selectors.realtime_connect_state)(actor=actor)
            self.rooms = {room: seq for room, (seq, _) in state.positions.items()}
            self.attached = True
            await hub().attach(
                self,
                [
                    member_group(organization_id=actor.organization_id, user_id=actor.user_id),
                    organization_group(actor.organization_id),
                    *map(room_group, self.rooms),
                ],
            )
            came_online, online = await _db(presence.presence_arrive)(
                organization_id=actor.organization_id,
                user_id=actor.user_id,
                channel=self.channel_name,
                member_ids=state.member_ids,
            )
        except Exception:  # the database or the channel layer could not serve it: the client tries again later
            logger.warning("realtime connect of %s failed", actor.user_id, exc_info=True)
            if getattr(self, "attached", False):
                self.attached = False
                await hub().detach(self)
            await self._refuse("the database, cache or channel layer failed")
            return
        await self.accept(subprotocol=agreed_protocol(self, PROTOCOL))
        await self.send_json(
            {
                "type": "hello",
                "protocol": PROTOCOL,
                "organization": str(actor.organization_id),
                "user": str(actor.user_id),
                "limits": {
                    "max_frame_bytes": int(settings.REALTIME_MAX_FRAME_BYTES),
                    "max_message_chars": int(settings.ROOM_MESSAGE_MAX_CHARS),
                },
                "conversations": dict(self.rooms),
                "revisions": {room: revision for room, (_, revision) in state.positions.items()},
                "online": online,
            }
        )
        if came_online:
            await self._presence_announce("online")

    async def _refuse(self, reason: str) -> None:
        await connect_refuse(self, reason, protocol=PROTOCOL)

    async def disconnect(self, code: int) -> None:
        if not getattr(self, "attached", False):
            return
        self.attached, self.closed = False, True
        self.outbox.clear()
        await hub().detach(self)
        offline = await _db(presence.presence_leave)(
            organization_id=self.actor.organization_id, user_id=self.actor.user_id, channel=self.channel_name
        )
        if offline:
            await self._presence_announce("offline")

    # ------------------------------------------------------------------ frames in

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode()) > int(settings.REALTIME_MAX_FRAME_BYTES):
            await self.send_error(
                "frame_too_large", f"Frames are limited to {settings.REALTIME_MAX_FRAME_BYTES} bytes."
            )
            return
        if not self.bucket.take():
            await self.send_error("rate_limited", "Too many frames; slow down.")
            return
        try:
            frame = json.loads(raw)
        except ValueError:
            await self.send_error("bad_frame", "Frames are JSON objects.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_frame", 'Frames are JSON objects with a "type".')
            return
        ref = frame.get("ref")
        handler = getattr(self, f"frame_{frame['type'].replace('.', '_')}", None)
        if handler is None:
            await self.send_error("unknown_type", f"Unknown frame type {frame['type']!r}.", ref=ref)
            return
        await handler(frame, ref)

    async def frame_ping(self, frame: dict[str, Any], ref: Any) -> None:
        await self.send_json({"type": "pong", "ref": ref})

    async def frame_send(self, frame: dict[str, Any], ref: Any) -> None:
        """{conversation, text, client_msg_id?, reply_to?, mentions?} -> `ack` with the stored message (the
        same one for a resend of the same client_msg_id), then `message.new` in the room's order."""
        received = time.perf_counter()
        conversation = await self._conversation_field(frame, ref)
        if conversation is None:
            return
        client_msg_id = frame.get("client_msg_id") or ""
        reply_to = frame.get("reply_to")
        mentions = frame.get("mentions") or []
        if not isinstance(client_msg_id, str) or not (reply_to is None or _is_seq(reply_to)):
            await self.send_error("bad_frame", "client_msg_id is a string and reply_to a seq.", ref=ref)
            return
        if not isinstance(mentions, list) or not all(isinstance(m, str) for m in mentions):
            await self.send_error("bad_frame", "mentions is a list of user or bot ids.", ref=ref)
            return
        sent = await self._call(
            ref,
            services.room_message_send,
            actor=self.actor,
            conversation_id=conversation,
            text=frame.get("text"),
            client_msg_id=client_msg_id,
            reply_to=reply_to,
            mentions=mentions,
        )
        if sent is None:
            return
        trace.mark(sent.message.seq, "received", received)
        message = selectors.message_summary(sent.message)
        await self.send_json({"type": "ack", "ref": ref, "duplicate": not sent.created, "message": message})
        if conversation not in self.rooms:  # a room this socket had not heard of (its ring was lost): join it
            await self._join(conversation, after=sent.message.seq - 1)
        # The sender's socket does not wait for the doorbell: its message is the next one it delivers, or the
        # process's hub is rung at once, and reads the room for this socket with the others behind (one read
        # for all of them, on the hub's threads, where a read of its own per send queued behind the sends).
        async with self.delivering:
            following = self.rooms.get(conversation) == sent.message.seq - 1
            if following:
                self.rooms[conversation] = sent.message.seq
                await self.send_json({"type": "message.new", "message": message})
        if not following:
            hub().ring(conversation, sent.message.seq)

    async def frame_edit(self, frame: dict[str, Any], ref: Any) -> None:
        """{conversation, message, text}: edit one's own message; everyone gets `message.edited`."""
        conversation = await self._conversation_field(frame, ref)
        if conversation is None or not await self._id_field(frame, "message", ref):
            return
        edited = await self._call(
            ref,
            services.room_message_edit,
            actor=self.actor,
            conversation_id=conversation,
            message_id=frame["message"],
            text=frame.get("text"),
        )
        if edited is not None:
            await self.send_json({"type": "ack", "ref": ref, "message": selectors.message_summary(edited)})

    async def frame_delete(self, frame: dict[str, Any], ref: Any) -> None:
        """{conversation, message}: delete one's own message; everyone gets `message.deleted`."""
        conversation = await self._conversation_field(frame, ref)
        if conversation is None or not await self._id_field(frame, "message", ref):
            return
        deleted = await self._call(
            ref,
            services.room_message_delete,
            actor=self.actor,
            conversation_id=conversation,
            message_id=frame["message"],
        )
        if deleted is not None:
            await self.send_json({"type": "ack", "ref": ref, "message": selectors.message_summary(deleted)})

    async def frame_typing(self, frame: dict[str, Any], ref: Any) -> None:
        """{conversation}: tell the room's other sockets (not stored, not acknowledged)."""
        conversation = await self._conversation_field(frame, ref)
        if conversation is None:
            return
        if conversation not in self.rooms:
            await self.send_error("not_found", "Conversation not found.", ref=ref, conversation=conversation)
            return
        await self._broadcast(
            room_group(conversation),
            {
                "type": "room.typing",
                "conversation": conversation,
                "user": str(self.actor.user_id),
                "from": self.channel_name,
            },
        )

    async def frame_handoff_typing(self, frame: dict[str, Any], ref: Any) -> None:
        """{conversation}: a member answering a widget visitor is typing (the visitor's widget shows it)."""
        conversation = await self._conversation_field(frame, ref)
        if conversation is None:
            return
        if not permissions.may_act_on_handoffs(self.actor):
            await self.send_error("permission_denied", "Your role does not act on handoffs.", ref=ref)
            return
        if not await _db(selectors.widget_conversation_in_organization)(actor=self.actor, conversation_id=conversation):
            await self.send_error("not_found", "Conversation not found.", ref=ref, conversation=conversation)
            return
        await self._broadcast(widget_conversation_group(conversation), {"type": "widget.typing", "role": "agent"})

    async def frame_read(self, frame: dict[str, Any], ref: Any) -> None:
        """{conversation, seq}: the member read up to `seq`; the room's sockets get a `read` frame."""
        conversation = await self._conversation_field(frame, ref)
        if conversation is None:
            return
        if not _is_seq(frame.get("seq"), minimum=0):
            await self.send_error("bad_frame", "seq is a whole number.", ref=ref)
            return
        seq = await self._call(
            ref, services.room_read, actor=self.actor, conversation_id=conversation, seq=frame["seq"]
        )
        if seq is not None:
            await self.send_json({"type": "ack", "ref": ref, "conversation": conversation, "last_read_seq": seq})

    async def frame_resume(self, frame: dict[str, Any], ref: Any) -> None:
        """{conversations: {id: last_seq}, revisions?: {id: last_revision}}: send every message after the
        client's numbers, room by room, in order; then, for the rooms given a revision, the messages it has that
        were edited or deleted since (`message.edited` / `message.deleted`, in the order of the changes); then
        `resumed` with this socket's position and the room's revision. Unknown or foreign rooms get an error
        frame each; the others are still resumed."""
        wanted = frame.get("conversations")
        revisions = frame.get("revisions") or {}
        if (
            not isinstance(wanted, dict)
            or len(wanted) > RESUME_MAX_ROOMS
            or not all(isinstance(k, str) and _is_seq(v, minimum=0) for k, v in wanted.items())
            or not isinstance(revisions, dict)
            or not all(isinstance(k, str) and _is_seq(v, minimum=0) for k, v in revisions.items())
        ):
            await self.send_error(
                "bad_frame",
                f"conversations maps up to {RESUME_MAX_ROOMS} conversation ids to the last seq the client has "
                "(and revisions, if given, to the last revision it saw).",
                ref=ref,
            )
            return
        positions: dict[str, int] = {}
        latest: dict[str, int] = {}
        for conversation, seq in wanted.items():
            last = await _db(selectors.room_last_seq_for_member)(actor=self.actor, conversation_id=conversation)
            if last is None:
                await self.send_error("not_found", "Conversation not found.", ref=ref, conversation=conversation)
                continue
            if conversation not in self.rooms:
                await self._join(conversation, after=seq)
            self.rooms[conversation] = min(seq, last)
            await self.deliver(conversation)
            positions[conversation] = self.rooms.get(conversation, int(seq))
            if conversation in revisions:
                changes = await _db(selectors.room_changes_for_member)(
                    actor=self.actor, conversation_id=conversation, upto=seq, after_revision=revisions[conversation]
                )
                if changes is not None:
                    for message in changes[0]:
                        await self.send_json(_change_frame(selectors.message_summary(message)))
                    latest[conversation] = changes[1]
        answer: dict[str, Any] = {"type": "resumed", "ref": ref, "conversations": positions}
        if revisions:
            answer["revisions"] = latest
        await self.send_json(answer)

    # ------------------------------------------------------------------ delivery (PostgreSQL is the record)

    async def deliver(self, conversation: str) -> None:
        """Send, in order, every message of the room after the last one this socket delivered (read from the
        database by this socket: after its own send, on resume, when the hub's read left a gap)."""
        async with self.delivering:
            while conversation in self.rooms:
                batch = await _db(selectors.room_messages_after_for_member)(
                    actor=self.actor,
                    conversation_id=conversation,
                    after=self.rooms[conversation],
                    limit=DELIVERY_BATCH,
                )
                if batch is None:  # no longer a member: whatever rang, stop listening
                    await self._leave(conversation)
                    return
                for message in batch:
                    self.rooms[conversation] = message.seq
                    await self.send_json({"type": "message.new", "message": selectors.message_summary(message)})
                if len(batch) < DELIVERY_BATCH:
                    return

    # What the hub (apps.chat.hub) hands this socket goes into its outbox, and the hub moves on: a socket whose
    # client reads slowly (its send waits for the transport) never holds up the others. The outbox is sent in
    # order by a task of the socket's own, or after the frame or event the socket is handling (`busy`): answers
    # come before the news they cause (the `ack` of a `read` before the `read` frame), `hello` before anything.
    # The outbox is bounded (REALTIME_SOCKET_QUEUE): a client that falls that far behind is closed with 4408 and
    # catches up from the database when it reconnects, so a slow reader costs the server a bounded amount.

    async def dispatch(self, message: dict[str, Any]) -> None:
        self.busy = True
        try:
            await super().dispatch(message)
        finally:
            self.busy = False
            self._flush()

    def _post(self, work: Callable[[], Awaitable[None]]) -> None:
        if getattr(self, "closed", False):
            return
        if len(self.outbox) >= int(settings.REALTIME_SOCKET_QUEUE):
            self._too_far_behind()
            return
        self.outbox.append(work)
        self._flush()

    def _too_far_behind(self) -> None:
        """The client reads slower than its rooms talk: REALTIME_SOCKET_QUEUE deliveries wait for it. Rather than
        hold more for it, drop them and close with 4408; the client reconnects and `resume` reads what it missed
        from the database (the record), at its own pace."""
        logger.warning(
            "realtime socket of %s closed with %s: %s deliveries waiting",
            self.actor.user_id,
            CLOSE_TOO_FAR_BEHIND,
            len(self.outbox),
        )
        self.closed = True
        self.outbox.clear()
        self.closing = asyncio.create_task(self._close_quietly(CLOSE_TOO_FAR_BEHIND))

    async def _close_quietly(self, code: int) -> None:
        try:
            await self.close(code=code)
        except Exception:  # the transport went away meanwhile: its disconnect cleans up
            logger.debug("closing a socket that fell behind failed", exc_info=True)

    def _flush(self) -> None:
        if getattr(self, "outbox", None) and not self.busy and self.sender is None and not self.closed:
            self.sender = asyncio.create_task(self._send_outbox())

    async def _send_outbox(self) -> None:
        try:
            while self.outbox and not self.closed:
                try:
                    await self.outbox.pop(0)()
                except Exception:  # the socket is closing: its disconnect clears the outbox
                    logger.debug("a send to a closing socket failed", exc_info=True)
        finally:
            self.sender = None

    def send_frames(self, conversation: str, frames: Frames) -> None:
        """The hub read the room for every socket of the process: send the messages this socket lacks (frames
        encoded once, in seq order; several in one `messages.new` frame for a socket that takes batches). A gap
        (this socket went back with `resume`) is read by the socket itself."""

        async def send() -> None:
            async with self.delivering:
                position = self.rooms.get(conversation)
                if position is None:
                    return
                start = frames.after(position)
                gap = start < len(frames.seqs) and frames.seqs[start] != position + 1
                if not gap:
                    for last, text in frames.for_socket(start, batched=self.batched):
                        self.rooms[conversation] = last
                        await self.send(text_data=text)
                        written = frames.after(last)
                        for seq in frames.seqs[start:written]:
                            trace.mark_written(seq)
                        start = written
            if gap:
                await self.deliver(conversation)

        self._post(send)

    def send_update(self, conversation: str, seq: int, text: str) -> None:
        """An edit or deletion, for a socket that delivered the message (one that has not will read it as it
        is now)."""

        async def send() -> None:
            async with self.delivering:
                if self.rooms.get(conversation, 0) >= seq:
                    await self.send(text_data=text)

        self._post(send)

    def send_text(self, text: str, *, conversation: str | None = None) -> None:
        """News for this socket (of a room it is still in, when `conversation` is given)."""

        async def send() -> None:
            if conversation is None or conversation in self.rooms:
                await self.send(text_data=text)

        self._post(send)

    def member_event(self, event: dict[str, Any]) -> None:
        """News on the member's own doorbell: access revoked, added to or removed from a room."""
        handler = self.session_revoke if event["type"] == "session.revoke" else self.room_membership
        self._post(lambda: handler(event))

    def room_gone(self, conversation: str) -> None:
        """The hub's read found the member no longer takes part in the room: stop listening to it."""
        self._post(lambda: self._leave(conversation))

    async def _join(self, conversation: str, *, after: int) -> None:
        self.rooms[conversation] = after
        await hub().subscribe(room_group(conversation), self)

    async def _leave(self, conversation: str) -> None:
        self.rooms.pop(conversation, None)
        await hub().unsubscribe(room_group(conversation), self)

    # ------------------------------------------------------------------ doorbell events (channel layer)

    async def session_revoke(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "revoked", "reason": event.get("reason", "access_revoked")})
        await self.close(code=CLOSE_REVOKED)

    async def room_membership(self, event: dict[str, Any]) -> None:
        """This member was added to or removed from a room: the database says which."""
        conversation = str(event["conversation"])
        last = await _db(selectors.room_last_seq_for_member)(actor=self.actor, conversation_id=conversation)
        if last is not None and conversation not in self.rooms:
            await self._join(conversation, after=last)
            await self.send_json({"type": "conversation.joined", "conversation": conversation, "last_seq": last})
        elif last is None and conversation in self.rooms:
            await self._leave(conversation)
            await self.send_json({"type": "conversation.left", "conversation": conversation})

    # ------------------------------------------------------------------ helpers

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=encode(payload))

    async def send_error(self, code: str, message: str, *, ref: Any = None, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "ref": ref, **extra})

    async def _call(self, ref: Any, function: Any, **kwargs: Any) -> Any:
        """Run a service off the event loop; its domain errors become error frames (None is returned)."""
        try:
            return await _db(function)(**kwargs)
        except DomainError as exc:
            extra: dict[str, Any] = {"details": exc.details} if exc.details else {}
            if "conversation_id" in kwargs:
                extra["conversation"] = str(kwargs["conversation_id"])
            await self.send_error(exc.code, exc.message, ref=ref, **extra)
            return None

    async def _conversation_field(self, frame: dict[str, Any], ref: Any) -> str | None:
        return str(frame["conversation"]) if await self._id_field(frame, "conversation", ref) else None

    async def _id_field(self, frame: dict[str, Any], name: str, ref: Any) -> bool:
        value = frame.get(name)
        try:
            uuid.UUID(str(value))
        except ValueError:
            await self.send_error("bad_frame", f"{name} is an id.", ref=ref)
            return False
        if not isinstance(value, str):
            await self.send_error("bad_frame", f"{name} is an id.", ref=ref)
            return False
        return True

    async def _broadcast(self, group: str, message: dict[str, Any]) -> None:
        """Ring a group for news nobody must rely on (typing, presence): a channel layer that fails costs the
        news, never the connection."""
        try:
            layer = get_channel_layer()
            if layer is not None:
                await layer.group_send(group, message)
        except Exception:
            logger.warning("channel layer send to %s failed", group, exc_info=True)

    async def _presence_announce(self, status: str) -> None:
        await self._broadcast(
            organization_group(self.actor.organization_id),
            {
                "type": "presence.changed",
                "organization": str(self.actor.organization_id),
                "user": str(self.actor.user_id),
                "status": status,
            },
        )


def _change_frame(message: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message.deleted" if message["deleted"] else "message.edited", "message": message}


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any other WebSocket path: refused with a close code, never an HTTP 500."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
