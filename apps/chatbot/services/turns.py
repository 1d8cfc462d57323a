"""The one way a chat turn starts, whatever the door (REST + SSE, WebSocket rooms, widget, OpenAI-compatible).

`chat_turn_open` loads the bot in the actor's organization, applies the actor's bot restriction and token
quota, arranges for the answer's tokens to be metered to the actor, and saves the question. The caller
then consumes the turn's events (apps.chatbot.services.answer.chat_turn_stream, or
apps.chatbot.streaming.events_async from async code) and encodes them for its wire.
See docs/adr/0022-chat-turn-service.md.
"""

from __future__ import annotations

import uuid
from typing import Any

from apps.chatbot.bot_cache import bot_cached
from apps.chatbot.models import Chatbot, Conversation, Message
from apps.chatbot.services.answer import ChatTurn, SuppliedHistory, bot_collections_prefetch, chat_turn_start
from apps.organizations.actors import Actor, require_access
from apps.organizations.metering import token_quota_check, token_usage_record
from common.core.errors import NotFound


def _bot_for(actor: Actor, bot_id: Any) -> Chatbot:
    try:
        bot_pk = uuid.UUID(str(bot_id))
    except ValueError:
        raise NotFound("Bot not found.") from None
    bot = bot_cached(
        actor.org.pk,
        bot_pk,
        lambda: (
            Chatbot.objects.for_org(actor.org)
            .select_related("provider", "fallback_provider", "organization")
            .prefetch_related(bot_collections_prefetch())
            .filter(pk=bot_pk)
            .first()
        ),
    )
    if bot is None:
        raise NotFound("Bot not found.")
    return bot


def chat_turn_open(
    *,
    actor: Actor,
    bot_id: Any,
    message: str,
    conversation_id: uuid.UUID | str | None = None,
    history: SuppliedHistory | None = None,
    source: str,
    client_msg_id: str = "",
    question: Message | None = None,
    save_question_later: bool = False,
) -> ChatTurn:
    """Start a turn for `actor`: 404 for a bot outside its organization, 403 for a bot its API key is restricted
    away from, 429 quota_exceeded when its token quota is used up (before any provider call, nothing saved),
    400 for an empty or over-long message, 404 for an unknown conversation of this bot.

    `history` (the caller's earlier messages, e.g. from an OpenAI-style request) replaces the stored
    conversation's history in the prompt; a conversation is still opened (or continued) and the question
    saved, with `source` recorded (and the sender's `client_msg_id`, which the database keeps unique per sender
    and conversation). The answer's tokens are metered to the actor when it is saved.

    `question`: a message already stored in a member room to answer there (a bot in a room): no conversation is
    opened and nothing more is saved but the answer, in that room, replying to it.

    `save_question_later`: a door that hands the turn to a stream under ASGI (apps.chatbot.streaming.stream_handover)
    saves a new conversation's question once the provider has been asked (ADR 0138).
    """
    if source not in Conversation.Source.values:
        raise ValueError(f"Unknown conversation source: {source}")
    bot = _bot_for(actor, bot_id)
    require_access(actor, kind="bot", resource_id=bot.pk)
    token_quota_check(actor=actor)

    def meter(saved: Message) -> None:
        token_usage_record(actor=actor, tokens=saved.prompt_tokens + saved.completion_tokens)

    return chat_turn_start(
        bot=bot,
        message=message,
        conversation_id=conversation_id,
        actor=actor,
        history=history,
        source=source,
        on_saved=meter,
        client_msg_id=client_msg_id,
        question=question,
        save_question_later=save_question_later,
    )
