"""One WebSocket per client (`/ws/`), JSON frames (docs/realtime.md).

The consumer authenticates once at connect (`scope["actor"]`, set by common.jwt_middleware), joins the
groups that ring its doorbell (the member in this organization, the organization), and answers frames.
Every frame gets a reply or an `error` frame with a code; a bad frame never closes the connection. The
channel layer is only a doorbell: what a client must not miss is read from PostgreSQL.

Close codes: 4401 not authenticated, 4403 access revoked (removed from the organization, tokens revoked,
account deactivated), 4404 unknown path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.chat import selectors
from apps.organizations.actors import Actor
from common.jwt_middleware import PROTOCOL

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_REVOKED = 4403
CLOSE_NOT_FOUND = 4404


def member_group(*, organization_id: Any, user_id: Any) -> str:
    return f"member.{organization_id}.{user_id}"


def organization_group(organization_id: Any) -> str:
    return f"org.{organization_id}"


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
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        subprotocols = self.scope.get("subprotocols") or []
        await self.accept(subprotocol=PROTOCOL if PROTOCOL in subprotocols else None)
        await self.send_json(
            {
                "type": "hello",
                "protocol": PROTOCOL,
                "organization": str(actor.organization_id),
                "user": str(actor.user_id),
                "limits": {"max_frame_bytes": int(settings.REALTIME_MAX_FRAME_BYTES)},
            }
        )
        self.watchdog = asyncio.create_task(self._watch_access())

    async def disconnect(self, code: int) -> None:
        watchdog = getattr(self, "watchdog", None)
        if watchdog is not None:
            watchdog.cancel()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

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

    # ------------------------------------------------------------------ doorbell events (channel layer)

    async def session_revoke(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "revoked", "reason": event.get("reason", "access_revoked")})
        await self.close(code=CLOSE_REVOKED)

    # ------------------------------------------------------------------ helpers

    async def send_json(self, payload: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str))

    async def send_error(self, code: str, message: str, *, ref: Any = None) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "ref": ref})

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
