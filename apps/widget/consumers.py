"""The visitor's WebSocket, `/ws/widget/` (docs/widget.md, "Widget API").

The widget opens it with the subprotocols `["docent.visitor", "<visitor token>"]` (the token never travels in
the URL) from the page the token was issued to; the consumer checks the token and the Origin as the REST door
does, and re-checks them before every frame it acts on and when the token expires (the widget then reconnects
with a fresh token). It joins the visitor's doorbell group; a ring carries a seq and the consumer reads the
messages from PostgreSQL, so `{"type": "resume", "after_seq": N}` after a reconnect fills in whatever was
missed. Close codes: 1013 try again later (the server could not serve the connect: its database or channel
layer failed or was short of connections; the token is still good), 4401 no valid token, 4403 origin refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.chat.consumers import (
    SEQ_MAX,
    TokenBucket,
    connect_refuse,
    organization_group,
    widget_conversation_group,
)
from apps.chatbot.selectors import conversations_last_seq
from apps.widget import selectors
from apps.widget.errors import OriginNotAllowed, WrongBot
from apps.widget.models import WidgetConversation
from apps.widget.services import VisitorContext, visitor_authenticate, visitor_conversation
from apps.widget.subscribers import visitor_group
from common.core.errors import DomainError

logger = logging.getLogger(__name__)
PROTOCOL = "docent.visitor"
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
BATCH = 100


def _db(function: Any) -> Any:
    """Database work off the event loop on the pooled threads: a thread-sensitive call outside a request would
    queue every visitor socket of the process behind one thread (each socket still awaits its own calls in order)."""
    return database_sync_to_async(function, thread_sensitive=False)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _CatchUp:
    """The visitor sockets of one event loop, checked every REALTIME_CATCH_UP_SECONDS against their
    conversations' last seq in one query (ADR 0132): a ring the channel layer lost reaches an open widget
    within that time, without a reconnect."""

    def __init__(self) -> None:
        self.sockets: set[WidgetConsumer] = set()
        self.task: asyncio.Task[None] | None = None

    def add(self, socket: WidgetConsumer) -> None:
        self.sockets.add(socket)
        if self.task is None:
            self.task = asyncio.create_task(self._run())

    def discard(self, socket: WidgetConsumer) -> None:
        self.sockets.discard(socket)
        if not self.sockets and self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(float(settings.REALTIME_CATCH_UP_SECONDS))
            try:
                await self.check()
            except Exception:
                logger.warning("the widget sockets' catch-up failed", exc_info=True)

    async def check(self) -> None:
        following = [s for s in self.sockets if s.conversation_id is not None]
        if not following:
            return
        ids = sorted({str(s.conversation_id) for s in following})
        latest = await _db(conversations_last_seq)(conversation_ids=ids)
        for socket in following:
            seq = latest.get(str(socket.conversation_id), 0)
            if seq > socket.last_seq and socket in self.sockets:
                await socket.deliver(upto=(str(socket.conversation_id), seq))


_catch_ups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _CatchUp] = weakref.WeakKeyDictionary()


def _catch_up() -> _CatchUp:
    loop = asyncio.get_running_loop()
    if loop not in _catch_ups:
        _catch_ups[loop] = _CatchUp()
    return _catch_ups[loop]


class WidgetConsumer(AsyncWebsocketConsumer):
    visitor: VisitorContext

    async def connect(self) -> None:
        protocols = list(self.scope.get("subprotocols") or [])
        token = protocols[1] if len(protocols) == 2 and protocols[0] == PROTOCOL else ""
        self.token = token
        self.origin = _header(self.scope, b"origin")
        client = self.scope.get("client") or (None, None)
        self.ip = client[0] if client else None
        self.conversation_id: str | None = None
        self.last_seq = 0
        self.delivering = asyncio.Lock()  # one delivery at a time: a ring, a resume and the catch-up may meet
        try:
            self.visitor = await self._authenticate()
            self.group = visitor_group(self.visitor.visitor.pk)
            conversation = await _db(visitor_conversation)(visitor=self.visitor.visitor)
            await self._follow(str(conversation.conversation_id) if conversation else None)
            await self.channel_layer.group_add(self.group, self.channel_name)
        except DomainError as error:
            await self.accept(subprotocol=PROTOCOL if PROTOCOL in protocols else None)
            await self.send_json({"type": "error", "code": error.code, "message": error.message})
            forbidden = isinstance(error, OriginNotAllowed | WrongBot)
            await self.close(code=CLOSE_FORBIDDEN if forbidden else CLOSE_UNAUTHENTICATED)
            return
        except Exception:  # the database or the channel layer could not serve it: the widget tries again later
            logger.warning("visitor connect failed", exc_info=True)
            await connect_refuse(self, "the database or channel layer failed", protocol=PROTOCOL)
            return  # disconnect() leaves whatever group was joined
        self.bucket = TokenBucket(float(settings.REALTIME_FRAMES_PER_SECOND), int(settings.REALTIME_FRAME_BURST))
        # What this socket delivered: it starts at the conversation's end (the widget read the history, or
        # sends `resume` with the seq it has).
        self.last_seq = conversation.conversation.last_seq if conversation else 0
        await self.accept(subprotocol=PROTOCOL)
        await self.send_json(
            {
                "type": "hello",
                "visitor": self.visitor.visitor.public_id,
                "conversation": selectors.conversation_summary(conversation),
            }
        )
        self.expiry = asyncio.create_task(self._close_on_expiry())
        _catch_up().add(self)

    async def disconnect(self, code: int) -> None:
        _catch_up().discard(self)
        task = getattr(self, "expiry", None)
        if task is not None:
            task.cancel()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self._follow(None)

    async def _follow(self, conversation_id: str | None) -> None:
        """Listen to the conversation's own group (agents' typing) instead of the previous one's."""
        if conversation_id == self.conversation_id:
            return
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(widget_conversation_group(self.conversation_id), self.channel_name)
        if conversation_id is not None:
            await self.channel_layer.group_add(widget_conversation_group(conversation_id), self.channel_name)
        self.conversation_id = conversation_id

    async def _authenticate(self) -> VisitorContext:
        context: VisitorContext = await _db(visitor_authenticate)(token=self.token, origin=self.origin, ip=self.ip)
        return context

    async def _close_on_expiry(self) -> None:
        from apps.widget.errors import VisitorTokenExpired
        from apps.widget.tokens import visitor_token_read

        try:
            expires_at = float(visitor_token_read(self.token).expires_at)
        except VisitorTokenExpired:
            expires_at = 0.0  # it expired between the handshake and this task's first step: close now
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self.send_json({"type": "error", "code": "visitor_token_expired", "message": "Reconnect."})
        await self.close(code=CLOSE_UNAUTHENTICATED)

    # ------------------------------------------------------------------ frames in

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode()) > int(settings.REALTIME_MAX_FRAME_BYTES) or not self.bucket.take():
            await self.send_error("rate_limited", "Too many or too large frames; slow down.")
            return
        try:
            self.visitor = await self._authenticate()
        except DomainError as error:
            await self.send_error(error.code, error.message)
            await self.close(code=CLOSE_FORBIDDEN if isinstance(error, OriginNotAllowed) else CLOSE_UNAUTHENTICATED)
            return
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_frame", 'Frames are JSON objects with a "type".')
            return
        if frame["type"] == "resume":
            after = frame.get("after_seq", 0)
            if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= SEQ_MAX:
                await self.send_error("bad_frame", "after_seq is the last seq the widget has (0 for none).")
                return
            async with self.delivering:
                self.last_seq = after
            await self.deliver(force_state=True)
        elif frame["type"] == "typing":
            await self._typing()
        elif frame["type"] == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_error("unknown_type", f"Unknown frame type {frame['type']!r}.")

    # ------------------------------------------------------------------ delivery (PostgreSQL is the record)

    async def deliver(self, *, force_state: bool = False, upto: tuple[str, int] | None = None) -> None:
        """Send the messages after the last one this socket delivered. `upto`: a conversation and its last seq as
        read before (the catch-up); once its messages are sent this socket is there, even if the last were
        deleted (deleted messages are not sent)."""
        async with self.delivering:
            await self._deliver(force_state=force_state, upto=upto)

    async def _deliver(self, *, force_state: bool, upto: tuple[str, int] | None) -> None:
        conversation: WidgetConversation | None = await _db(visitor_conversation)(visitor=self.visitor.visitor)
        if conversation is None:
            return
        if str(conversation.conversation_id) != self.conversation_id:  # the visitor's first (or a new) conversation
            await self._follow(str(conversation.conversation_id))
            self.last_seq, force_state = 0, True
        if force_state:
            await self._send_state(conversation)
        while True:
            batch = await _db(selectors.conversation_messages)(
                conversation=conversation, after=self.last_seq, limit=BATCH
            )
            for message in batch:
                await self.send_json(
                    {
                        "type": "message.created",
                        "conversation": self.conversation_id,
                        "seq": message["seq"],
                        "message": message,
                    }
                )
                self.last_seq = message["seq"]
            if len(batch) < BATCH:
                if upto is not None and upto[0] == self.conversation_id:
                    self.last_seq = max(self.last_seq, upto[1])
                return

    async def _typing(self) -> None:
        """The visitor is typing: members' inboxes hear it while a person holds the conversation."""
        conversation = await _db(visitor_conversation)(visitor=self.visitor.visitor)
        if conversation is None or conversation.state != "with_agent":
            return
        try:
            await self.channel_layer.group_send(
                organization_group(self.visitor.bot.organization_id),
                {
                    "type": "handoff.changed",
                    "organization": str(self.visitor.bot.organization_id),
                    "event": "handoff.typing",
                    "conversation": str(conversation.conversation_id),
                },
            )
        except Exception:  # typing is news nobody relies on
            logger.warning("typing broadcast failed", exc_info=True)

    async def _send_state(self, conversation: WidgetConversation) -> None:
        summary = selectors.conversation_summary(conversation) or {}
        await self.send_json(
            {
                "type": "conversation.state",
                "conversation": self.conversation_id,
                "state": summary.get("state"),
                "agent_name": summary.get("agent_name"),
            }
        )

    # ------------------------------------------------------------------ doorbells (channel layer)

    async def widget_message(self, event: dict[str, Any]) -> None:
        seq = event.get("seq")
        if event.get("conversation") != self.conversation_id or not isinstance(seq, int) or seq > self.last_seq:
            await self.deliver()

    async def widget_state(self, event: dict[str, Any]) -> None:
        conversation = await _db(visitor_conversation)(visitor=self.visitor.visitor)
        if conversation is not None and str(conversation.conversation_id) == event.get("conversation"):
            await self._follow(str(conversation.conversation_id))
            await self._send_state(conversation)

    async def widget_typing(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "typing", "role": "agent"})

    # ------------------------------------------------------------------ helpers

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str))

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
