"""What the chat app does when the rest of Docent says something happened (common.events): ring doorbells."""

from __future__ import annotations

import asyncio
import logging
import weakref

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

from apps.chat import hub, trace
from apps.chat.bots import room_bot_answer_schedule
from apps.chat.consumers import member_group, room_group
from apps.chat.services import room_participations_end
from common.events import DomainEvent, EventType, subscribe

logger = logging.getLogger(__name__)


def ring(group: str, message: dict[str, object]) -> None:
    """Ring a doorbell group (the widget's doorbells use it too). Never raises: clients resume from the database."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the doorbell may fail; clients resume from the database
        logger.warning("channel layer send to %s failed", group, exc_info=True)


def ring_room_without_waiting(conversation: str, seq: int) -> None:
    """Ring a room's doorbell group with its highest seq and return at once. `ring` from one of the server's database
    threads waits until the event loop has run the channel layer's send, and under a fan-out that took up to 100 ms
    during which the thread, and the sender's `ack`, waited with it (ADR 0077). On the loop, the rings of a room are
    coalesced: while one is on its way to the channel layer (four round trips to Redis), the ones after it wait and
    go as one, with the highest seq (rings of a room carry its highest seq, so one ring says what several did;
    ADR 0131). Outside a server (a Celery task, a test's thread without a loop), `ring`."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        ring(room_group(conversation), room_ring(conversation, seq))
        return
    try:
        loop.call_soon_threadsafe(_ring_room_coalesced, loop, conversation, seq)
    except RuntimeError:  # the loop stopped meanwhile
        ring(room_group(conversation), room_ring(conversation, seq))


def room_ring(conversation: str, seq: int) -> dict[str, object]:
    return {"type": "room.message", "conversation": conversation, "seq": seq}


# Per event loop: room -> the highest seq to ring next, for the rooms whose ring is on its way.
_pending_rings: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, int]] = weakref.WeakKeyDictionary()
_ringing: set[asyncio.Task[None]] = set()


def _ring_room_coalesced(loop: asyncio.AbstractEventLoop, conversation: str, seq: int) -> None:
    pending = _pending_rings.setdefault(loop, {})
    if conversation in pending:  # a ring of the room is on its way: the next one carries the highest seq
        pending[conversation] = max(pending[conversation], seq)
        return
    pending[conversation] = seq
    task = loop.create_task(_send_room_rings(pending, conversation))
    _ringing.add(task)
    task.add_done_callback(_ringing.discard)


async def _send_room_rings(pending: dict[str, int], conversation: str) -> None:
    try:
        while True:
            seq = pending[conversation]
            layer = get_channel_layer()
            if layer is None:
                return
            try:
                await layer.group_send(room_group(conversation), room_ring(conversation, seq))
            except Exception:  # the doorbell may fail; clients resume from the database
                logger.warning("channel layer send to %s failed", room_group(conversation), exc_info=True)
            if pending[conversation] == seq:
                return
    finally:
        pending.pop(conversation, None)


def close_removed_member(event: DomainEvent) -> None:
    """A member who left or was removed: out of the organization's rooms, and their sockets closed."""
    room_participations_end(organization_id=event.organization_id, user_id=event.payload["user_id"])
    ring(
        member_group(organization_id=event.organization_id, user_id=event.payload["user_id"]),
        {
            "type": "session.revoke",
            "organization": str(event.organization_id),
            "user": str(event.payload["user_id"]),
            "reason": "removed_from_organization",
        },
    )


ROOM_KINDS = ("direct", "group")


def ring_room_message(event: DomainEvent) -> None:
    """The doorbell carries the room and the seq only; sockets read the messages from the database. This process's
    own hub is rung directly as well (its sockets need not wait for the ring's round trip through Redis)."""
    if event.payload.get("kind") in ROOM_KINDS:
        trace.mark(event.payload["seq"], "committed")
        conversation, seq = str(event.payload["conversation_id"]), int(event.payload["seq"])
        ring_room_without_waiting(conversation, seq)
        hub.ring_from_thread(conversation, seq)
        trace.mark(event.payload["seq"], "rung")


def answer_in_room(event: DomainEvent) -> None:
    """A member's message that bots should answer: schedule each bot's turn (off the event loop)."""
    if event.payload.get("kind") not in ROOM_KINDS:
        return
    for bot_id in event.payload.get("answer_bots", []):
        room_bot_answer_schedule(
            organization_id=event.organization_id,
            conversation_id=event.payload["conversation_id"],
            message_id=event.payload["message_id"],
            bot_id=bot_id,
        )


def ring_room_message_updated(event: DomainEvent) -> None:
    if event.payload.get("kind") in ROOM_KINDS:
        ring(
            room_group(event.payload["conversation_id"]),
            {
                "type": "room.updated",
                "conversation": event.payload["conversation_id"],
                "message": event.payload["message_id"],
            },
        )


def ring_room_read(event: DomainEvent) -> None:
    ring(
        room_group(event.payload["conversation_id"]),
        {
            "type": "room.read",
            "conversation": event.payload["conversation_id"],
            "user": event.payload["user_id"],
            "seq": event.payload["seq"],
        },
    )


def ring_room_changed(event: DomainEvent) -> None:
    """Members added or removed hear it on their own doorbell (their sockets join or leave the room, after
    checking the database); everyone in the room is told to re-read it."""
    conversation = event.payload["conversation_id"]
    for user_id in [*event.payload.get("added", []), *event.payload.get("removed", [])]:
        ring(
            member_group(organization_id=event.organization_id, user_id=user_id),
            {
                "type": "room.membership",
                "organization": str(event.organization_id),
                "user": str(user_id),
                "conversation": conversation,
            },
        )
    ring(room_group(conversation), {"type": "room.changed", "conversation": conversation})


def connect() -> None:
    subscribe(EventType.MEMBER_REMOVED, close_removed_member)
    subscribe(EventType.MESSAGE_CREATED, ring_room_message)
    subscribe(EventType.MESSAGE_CREATED, answer_in_room)
    subscribe(EventType.MESSAGE_UPDATED, ring_room_message_updated)
    subscribe(EventType.CONVERSATION_READ, ring_room_read)
    subscribe(EventType.CONVERSATION_CHANGED, ring_room_changed)
