"""Answers cut off with their web process: saved as interrupted by a sweep, with what had been said.

A client that goes away is handled in the stream itself (apps.chatbot.services.answer saves the partial answer).
A web process that dies (killed, crashed, its machine lost) saves nothing: its replica is gone, the client's
stream is cut, and the question would stay unanswered for good. So every turn keeps a marker in the shared cache
(Redis) from the moment its question is saved until its answer is: the answer so far and when it last grew,
refreshed at most every CHAT_PARTIAL_SAVE_SECONDS while tokens flow. A turn whose marker has not moved for
CHAT_TURN_ORPHAN_SECONDS, and whose question is still the last message of its conversation, lost its process:
the sweep (beat, every CHAT_ORPHAN_SWEEP_SECONDS) saves the marker's text as the bot's interrupted answer.
See docs/scaling.md. Cache failures never fail a turn: without the marker a dead process's turn stays unanswered,
as before.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.chatbot.models import Conversation, Message, SenderKind
from apps.chatbot.services.conversations import message_event_payload
from common.core.cache import cache_delete_command, cache_set_command
from common.core.redis import hot_execute, hot_write
from common.events import EventType, emit

logger = logging.getLogger(__name__)
SCAN_LIMIT = 500  # questions looked at per sweep; the next sweep takes the rest
SERVER_STOPPED = "server_stopped"


def _key(question_id: Any) -> str:
    return f"chat:turn:{question_id}"


def _timeout() -> int:
    return int(settings.CHAT_TURN_ORPHAN_SECONDS) + 3600


def turn_progress(question_id: Any, text: str) -> None:
    """The turn is alive and has said `text` so far (also called with "" when the question is saved)."""
    try:
        marker = {"text": text, "at": time.time()}
        command = cache_set_command(_key(question_id), marker, _timeout())
        if command is None:
            cache.set(_key(question_id), marker, timeout=_timeout())
        else:  # the same entry, without Django's and redis-py's work per call (ADR 0126)
            hot_execute(command[1], url=command[0])
    except Exception:  # the cache is down: the turn goes on without its safety net
        logger.warning("could not record the progress of the turn of question %s", question_id, exc_info=True)


def turn_closed(question_id: Any) -> None:
    """The turn saved its answer itself. Inside `hot_writes_together()` the marker goes with the block's other writes
    (the answer's saving: its token metering), in one round trip (ADR 0126)."""
    try:
        command = cache_delete_command(_key(question_id))
        if command is None:
            cache.delete(_key(question_id))
        else:
            hot_write(command[1], url=command[0])
    except Exception:  # an entry left behind expires, and the question is answered: the sweep skips it
        logger.warning("could not clear the marker of the turn of question %s", question_id, exc_info=True)


def chat_turns_interrupt_orphaned(*, now: Any = None) -> int:
    """Save as interrupted the answers of turns whose web process is gone. Returns how many were saved."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(settings.CHAT_TURN_ORPHAN_SECONDS))
    unanswered = list(
        Message.objects.unscoped()
        .filter(
            role=Message.Role.USER,
            conversation__kind=Conversation.Kind.BOT,
            seq=F("conversation__last_seq"),
            created_at__lt=cutoff,
            created_at__gte=cutoff - timedelta(seconds=_timeout()),
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:SCAN_LIMIT]
    )
    if not unanswered:
        return 0
    markers = cache.get_many([_key(pk) for pk in unanswered])
    saved = 0
    for question_id in unanswered:
        marker = markers.get(_key(question_id))
        if not isinstance(marker, dict) or float(marker.get("at", 0)) > cutoff.timestamp():
            continue  # no turn ran for it (or its marker expired), or the turn is still alive
        if _interrupt(question_id, str(marker.get("text", ""))):
            saved += 1
    return saved


@transaction.atomic
def _interrupt(question_id: Any, text: str) -> bool:
    question = Message.objects.unscoped().filter(pk=question_id).first()
    if question is None:
        return False
    conversation = (
        Conversation.objects.unscoped()
        .select_for_update(of=("self",))
        .select_related("bot")
        .get(pk=question.conversation_id)
    )
    if conversation.last_seq != question.seq:  # answered (or followed up) meanwhile
        transaction.on_commit(lambda: turn_closed(question_id))
        return False
    message = Message.objects.create(
        organization_id=conversation.organization_id,
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        content=text,
        status=Message.Status.INTERRUPTED,
        sender_kind=SenderKind.BOT,
        sender_bot=conversation.bot,
        error_code=SERVER_STOPPED,
        error_message="The answer was cut off: the server writing it stopped.",
    )
    payload = message_event_payload(message, source=conversation.source)
    emit(EventType.MESSAGE_CREATED, organization=conversation.organization_id, payload=payload)
    transaction.on_commit(lambda: turn_closed(question_id))
    logger.warning("saved the cut-off answer to question %s as interrupted (message %s)", question_id, message.pk)
    return True
