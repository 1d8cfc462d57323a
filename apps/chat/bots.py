"""Bots in rooms: a member's message that mentions a bot (or any message in a direct room with one) gets an
answer. The turn runs as a task on the ASGI server's event loop, at most ROOM_BOT_CONCURRENCY at a time per
loop, with every blocking step off the loop: `chat_turn_open` (as the member who asked: their organization's
quota and metering) in a database thread, the answer pipeline through `events_async` (a producer thread).
Its tokens are rung to the room as `bot.token`; the answer pipeline stores the final answer once, in the room,
with its own seq, replying to the question, and it is delivered like any other message. Tokens are a
courtesy; the stored answer is the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from apps.chat.consumers import room_group
from apps.chatbot.models import Conversation, Message
from apps.chatbot.services.answer import ChatTurn, ErrorEvent, TokenEvent
from apps.chatbot.services.turns import chat_turn_open
from apps.chatbot.streaming import events_async
from apps.organizations.actors import Actor
from apps.organizations.tenancy import tenant_for
from common.core.errors import DomainError

logger = logging.getLogger(__name__)
HISTORY_MESSAGES = 20  # the room's latest messages a bot sees before the question

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
_running: set[asyncio.Task[Any]] = set()


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(int(settings.ROOM_BOT_CONCURRENCY))
    return _slots[loop]


def room_bot_answer_schedule(*, organization_id: str, conversation_id: str, message_id: str, bot_id: str) -> None:
    """Start a bot's answer without waiting for it. Called after commit from the thread that stored the
    question: under the ASGI server that thread belongs to the server's event loop, which gets the task (the
    sockets of this process live there, whatever the channel layer); elsewhere (a shell, a command) the answer
    runs on a thread of its own."""
    answer = room_bot_answer(
        organization_id=organization_id, conversation_id=conversation_id, message_id=message_id, bot_id=bot_id
    )
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        # A fresh context: the task must not inherit this request's database thread (asgiref would refuse it).
        loop.call_soon_threadsafe(_start, loop, answer)
        return
    threading.Thread(target=async_to_sync(_await), args=(answer,), daemon=True, name="room-bot").start()


def _start(loop: asyncio.AbstractEventLoop, answer: Any) -> None:
    task = loop.create_task(answer, context=contextvars.Context())
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _await(answer: Any) -> None:
    await answer


async def _ring(conversation_id: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(room_group(conversation_id), message)
    except Exception:  # tokens are a courtesy: the stored answer is delivered from the database
        logger.warning("channel layer send to room %s failed", conversation_id, exc_info=True)


def _history(conversation: Conversation, question: Message, bot_id: str) -> list[dict[str, str]]:
    """The room as the bot sees it: its own messages are its answers, everyone else's are questions."""
    rows = (
        Message.objects.for_org(conversation.organization_id)
        .filter(conversation=conversation, seq__lt=question.seq, deleted_at__isnull=True)
        .order_by("-seq")[:HISTORY_MESSAGES]
    )
    return [
        {"role": "assistant" if str(m.sender_bot_id) == bot_id else "user", "content": m.content}
        for m in reversed(list(rows))
    ]


@dataclass(frozen=True)
class _Prepared:
    turn: ChatTurn
    conversation: Conversation
    question: Message


def _prepare(*, organization_id: str, conversation_id: str, message_id: str, bot_id: str) -> _Prepared | None:
    """Load the question and start the turn as the member who asked (None: nothing to answer any more)."""
    question = (
        Message.objects.for_org(organization_id)
        .select_related("conversation", "sender_user")
        .filter(pk=message_id, conversation_id=conversation_id)
        .first()
    )
    if question is None or question.sender_user is None or question.deleted_at is not None:
        return None
    try:
        actor = tenant_for(Actor.for_user(question.sender_user), str(organization_id))
    except DomainError:
        return None  # the member left the organization meanwhile
    turn = chat_turn_open(
        actor=actor,
        bot_id=bot_id,
        message=question.content,
        history=_history(question.conversation, question, bot_id),
        source=Conversation.Source.ROOM,
        question=question,  # answered in the room, stored there once
    )
    return _Prepared(turn=turn, conversation=question.conversation, question=question)


async def room_bot_answer(*, organization_id: str, conversation_id: str, message_id: str, bot_id: str) -> None:
    """Answer one member's message in a room as `bot_id`."""
    async with _slot():
        try:
            await _answer(
                organization_id=organization_id, conversation_id=conversation_id, message_id=message_id, bot_id=bot_id
            )
        except Exception:
            logger.exception("a bot's answer in room %s failed", conversation_id)


async def _answer(*, organization_id: str, conversation_id: str, message_id: str, bot_id: str) -> None:
    frame: dict[str, Any] = {"conversation": conversation_id, "bot": bot_id}
    try:
        # Not thread-sensitive: outside a request asgiref would queue it on the one thread of the process.
        prepared = await database_sync_to_async(_prepare, thread_sensitive=False)(
            organization_id=organization_id, conversation_id=conversation_id, message_id=message_id, bot_id=bot_id
        )
    except DomainError as error:  # quota used up, bot gone ...
        await _ring(conversation_id, {"type": "room.bot_error", **frame, "reply_to": None, **_error(error)})
        return
    if prepared is None:
        return
    frame["reply_to"] = prepared.question.seq
    # The answer pipeline stores the answer in the room (its own seq, replying to the question) and rings it.
    async with contextlib.aclosing(events_async(prepared.turn)) as events:
        async for event in events:
            if isinstance(event, TokenEvent):
                await _ring(conversation_id, {"type": "room.bot_token", **frame, "text": event.text})
            elif isinstance(event, ErrorEvent):
                failure = {"code": event.code, "message": event.message}
                await _ring(conversation_id, {"type": "room.bot_error", **frame, **failure})
                return


def _error(error: DomainError) -> dict[str, str]:
    return {"code": error.code, "message": error.message}
