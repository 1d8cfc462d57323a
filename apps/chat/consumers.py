"""One WebSocket per client (`/ws/`), JSON frames (docs/realtime.md).

The consumer authenticates once at connect (`scope["actor"]`, set by common.jwt_middleware), joins the
groups that ring its doorbell (the member in this organization, the organization, each room the member takes
part in), and answers frames. Every frame gets a reply or an `error` frame with a code; a bad frame never
closes the connection. The channel layer is only a doorbell: a ring carries a room and a seq, and the
consumer reads from PostgreSQL every message after the last one it delivered for that room, so lost or
coalesced rings cost nothing but latency, and `resume` fills a reconnecting client in from its own numbers.

Close codes: 4401 not authenticated, 4403 access revoked (removed from the organization, tokens revoked,
account deactivated), 4404 unknown path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.chat import presence, selectors, services
from apps.organizations.actors import Actor
from common.core.errors import DomainError
from common.jwt_middleware import PROTOCOL

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_REVOKED = 4403
CLOSE_NOT_FOUND = 4404


def member_group(*, organization_id: Any, user_id: Any) -> str:
    return f"member.{organization_id}.{user_id}"


def organization_group(organization_id: Any) -> str:
    return f"org.{organization_id}"


def room_group(conversation_id: Any) -> str:
    return f"room.{conversation_id}"


def widget_conversation_group(conversation_id: Any) -> str:
    """The visitor sockets of one widget conversation (apps.widget joins them; agents' typing goes there)."""
    return f"widget.conversation.{conversation_id}"


DELIVERY_BATCH = 100  # messages read per query while catching a room up
RESUME_MAX_ROOMS = 500


def _db(function: Any) -> Any:
    return database_sync_to_async(function)


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


class RealtimeConsumer(AsyncWebsocketConsumer):
    actor: Actor
    groups_joined: list[str]

    async def connect(self) -> None:
        actor = self.scope.get("actor")
        if not isinstance(actor, Actor) or actor.user is None or actor.organization is None:
            # Accept, then close with a code the client can read (closing before accepting is an HTTP 403).
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.actor = actor
        self.connected_at = time.time()
        self.bucket = TokenBucket(float(settings.REALTIME_FRAMES_PER_SECOND), int(settings.REALTIME_FRAME_BURST))
        self.groups_joined = [
            member_group(organization_id=actor.organization_id, user_id=actor.user_id),
            organization_group(actor.organization_id),
        ]
        # room id -> the last seq this socket delivered (or the room's last seq when the socket opened: what came
        # before is the client's to ask for, with `resume` or the history endpoint).
        self.rooms: dict[str, int] = await _db(selectors.room_ids_for_member)(actor=actor)
        self.groups_joined += [room_group(room) for room in self.rooms]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        came_online = await _db(presence.presence_touch)(
            organization_id=actor.organization_id, user_id=actor.user_id, channel=self.channel_name
        )
        members = await _db(selectors.organization_member_ids)(organization_id=actor.organization_id)
        online = await _db(presence.presence_online)(organization_id=actor.organization_id, user_ids=members)
        subprotocols = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=PROTOCOL if PROTOCOL in subprotocols else None)
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
                "online": online,
            }
        )
        self.watchdog = asyncio.create_task(self._watch_access())
        self.presence_task = asyncio.create_task(self._keep_present())
        if came_online:
            await self._presence_announce("online")

    async def disconnect(self, code: int) -> None:
        for task_name in ("watchdog", "presence_task"):
            task = getattr(self, task_name, None)
            if task is not None:
                task.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "presence_task", None) is not None:
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
        message = selectors.message_summary(sent.message)
        await self.send_json({"type": "ack", "ref": ref, "duplicate": not sent.created, "message": message})
        if conversation not in self.rooms:  # a room this socket had not heard of (its ring was lost): join it
            await self._join(conversation, after=sent.message.seq - 1)
        await self.deliver(conversation)

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
        """{conversations: {id: last_seq}}: send every message after the client's numbers, room by room, in
        order; then `resumed` with this socket's position in each room. Unknown or foreign rooms get an error
        frame each; the others are still resumed."""
        wanted = frame.get("conversations")
        if (
            not isinstance(wanted, dict)
            or len(wanted) > RESUME_MAX_ROOMS
            or not all(isinstance(k, str) and _is_seq(v, minimum=0) for k, v in wanted.items())
        ):
            await self.send_error(
                "bad_frame",
                f"conversations maps up to {RESUME_MAX_ROOMS} conversation ids to the last seq the client has.",
                ref=ref,
            )
            return
        positions: dict[str, int] = {}
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
        await self.send_json({"type": "resumed", "ref": ref, "conversations": positions})

    # ------------------------------------------------------------------ delivery (PostgreSQL is the record)

    async def deliver(self, conversation: str) -> None:
        """Send, in order, every message of the room after the last one this socket delivered."""
        while conversation in self.rooms:
            batch = await _db(selectors.room_messages_after_for_member)(
                actor=self.actor, conversation_id=conversation, after=self.rooms[conversation], limit=DELIVERY_BATCH
            )
            if batch is None:  # no longer a member: whatever rang, stop listening
                await self._leave(conversation)
                return
            for message in batch:
                await self.send_json({"type": "message.new", "message": selectors.message_summary(message)})
                self.rooms[conversation] = message.seq
            if len(batch) < DELIVERY_BATCH:
                return

    async def _join(self, conversation: str, *, after: int) -> None:
        self.rooms[conversation] = after
        group = room_group(conversation)
        if group not in self.groups_joined:
            self.groups_joined.append(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def _leave(self, conversation: str) -> None:
        self.rooms.pop(conversation, None)
        group = room_group(conversation)
        if group in self.groups_joined:
            self.groups_joined.remove(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    # ------------------------------------------------------------------ doorbell events (channel layer)

    async def session_revoke(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "revoked", "reason": event.get("reason", "access_revoked")})
        await self.close(code=CLOSE_REVOKED)

    async def room_message(self, event: dict[str, Any]) -> None:
        """A room has new messages (up to event["seq"]): read them from the database."""
        conversation = str(event["conversation"])
        if conversation in self.rooms and int(event.get("seq", 0)) > self.rooms[conversation]:
            await self.deliver(conversation)

    async def room_updated(self, event: dict[str, Any]) -> None:
        """A message was edited or deleted: send its state as the database has it."""
        conversation = str(event["conversation"])
        if conversation not in self.rooms:
            return
        message = await _db(selectors.room_message_for_member)(
            actor=self.actor, conversation_id=conversation, message_id=event["message"]
        )
        if message is None:
            return
        summary = selectors.message_summary(message)
        kind = "message.deleted" if summary["deleted"] else "message.edited"
        await self.send_json({"type": kind, "message": summary})

    async def room_bot_token(self, event: dict[str, Any]) -> None:
        """A bot answering in a room: a piece of its answer (the whole answer follows as `message.new`)."""
        if str(event["conversation"]) in self.rooms:
            await self.send_json(
                {
                    "type": "bot.token",
                    "conversation": event["conversation"],
                    "bot": event["bot"],
                    "reply_to": event["reply_to"],
                    "text": event["text"],
                }
            )

    async def room_bot_error(self, event: dict[str, Any]) -> None:
        if str(event["conversation"]) in self.rooms:
            await self.send_json(
                {
                    "type": "bot.error",
                    "conversation": event["conversation"],
                    "bot": event["bot"],
                    "reply_to": event["reply_to"],
                    "code": event["code"],
                    "message": event["message"],
                }
            )

    async def room_typing(self, event: dict[str, Any]) -> None:
        if event.get("from") != self.channel_name and str(event["conversation"]) in self.rooms:
            await self.send_json({"type": "typing", "conversation": event["conversation"], "user": event["user"]})

    async def room_read(self, event: dict[str, Any]) -> None:
        if str(event["conversation"]) in self.rooms:
            await self.send_json(
                {"type": "read", "conversation": event["conversation"], "user": event["user"], "seq": event["seq"]}
            )

    async def room_changed(self, event: dict[str, Any]) -> None:
        """A room was renamed or its members changed (clients re-read it: GET /api/v1/rooms/{id})."""
        if str(event["conversation"]) in self.rooms:
            await self.send_json({"type": "conversation.updated", "conversation": event["conversation"]})

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

    async def handoff_changed(self, event: dict[str, Any]) -> None:
        """A widget conversation that asked for a person changed: `handoff.requested`, `handoff.assigned`,
        `handoff.resolved` or `handoff.message`. Members' inboxes re-read it (GET /api/v1/handoffs/{id}?after=seq).
        Rung by apps.widget, which owns handoffs."""
        await self.send_json(
            {
                "type": event.get("event") or "handoff.changed",
                "conversation": event.get("conversation"),
                "state": event.get("state"),
                "seq": event.get("seq"),
                "agent": event.get("agent"),
            }
        )

    async def presence_changed(self, event: dict[str, Any]) -> None:
        if event["user"] == str(self.actor.user_id):
            return  # one's own presence is not news
        await self.send_json({"type": "presence", "user": event["user"], "status": event["status"]})

    # ------------------------------------------------------------------ helpers

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str))

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
            await self.channel_layer.group_send(group, message)
        except Exception:
            logger.warning("channel layer send to %s failed", group, exc_info=True)

    async def _presence_announce(self, status: str) -> None:
        await self._broadcast(
            organization_group(self.actor.organization_id),
            {"type": "presence.changed", "user": str(self.actor.user_id), "status": status},
        )

    async def _keep_present(self) -> None:
        while True:
            await asyncio.sleep(float(settings.REALTIME_PRESENCE_SECONDS) / 3)
            await _db(presence.presence_touch)(
                organization_id=self.actor.organization_id, user_id=self.actor.user_id, channel=self.channel_name
            )

    async def _watch_access(self) -> None:
        """The doorbell may not ring: re-check from the database that this member may still be connected."""
        interval = float(settings.REALTIME_ACCESS_CHECK_SECONDS)
        while True:
            await asyncio.sleep(interval)
            allowed = await database_sync_to_async(selectors.realtime_access_allowed)(
                actor=self.actor, connected_at=self.connected_at
            )
            if not allowed:
                await self.session_revoke({"reason": "access_revoked"})
                return


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any other WebSocket path: refused with a close code, never an HTTP 500."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
