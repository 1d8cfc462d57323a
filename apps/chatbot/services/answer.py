"""The answer pipeline: history window → hybrid retrieval → delimited prompt → streamed answer → citations.

`chat_turn_start` validates and saves the user's message (errors here are 4xx for the caller).
`chat_turn_stream` then yields events (token, citations, done | error) and never raises: provider
failures, timeouts and cut streams end with an error event and a persisted assistant message that
records what happened. If the consumer goes away (client disconnect), the partial answer is saved.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Prefetch

from apps.chatbot.models import Chatbot, Conversation, Message, SenderKind
from apps.chatbot.services.conversations import bot_conversation_open, message_event_payload, message_sender
from apps.chatbot.services.prompting import PassageLike, build_messages, citations_for, history_window
from apps.chatbot_provider.clients import ChatMessage, TextDelta, Usage, stream_chat
from apps.chatbot_provider.errors import ProviderError
from apps.chatbot_provider.models import OFFLINE_CHAT_MODEL, ChatbotProvider
from common.core.errors import DomainError, NotFound, ValidationFailed
from common.events import EventType, emit

if TYPE_CHECKING:
    from apps.organizations.actors import Actor

logger = logging.getLogger(__name__)
HISTORY_MESSAGES = 40


@dataclass(frozen=True)
class TokenEvent:
    text: str


@dataclass(frozen=True)
class CitationsEvent:
    citations: list[dict[str, Any]]


@dataclass(frozen=True)
class DoneEvent:
    data: dict[str, Any]


@dataclass(frozen=True)
class ErrorEvent:
    code: str
    message: str
    status_code: int
    data: dict[str, Any]


ChatEvent = TokenEvent | CitationsEvent | DoneEvent | ErrorEvent


@dataclass
class ChatTurn:
    bot: Chatbot
    conversation: Conversation
    user_message: Message
    question: str
    history: list[ChatMessage]
    started: float = field(default_factory=time.perf_counter)
    # Called once with the saved answer, whatever the outcome (metering, notifications).
    on_saved: Callable[[Message], None] | None = None


class HistoryMessage(Protocol):
    """One earlier message a caller supplies (apps.chatbot_provider's ChatMessage has these)."""

    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...


SuppliedHistory = Sequence[HistoryMessage | Mapping[str, Any]]


class ChatInputInvalid(ValidationFailed):
    pass


class AnswerFailed(DomainError):
    code = "answer_failed"
    status_code = 502
    default_message = "The answer could not be completed. The error has been logged."


# ---------------------------------------------------------------------------------------------- start


def _load_history(conversation: Conversation, before: Message | None) -> list[tuple[str, str]]:
    query = Message.objects.for_org(conversation.organization_id).filter(
        conversation=conversation, status__in=[Message.Status.COMPLETE, Message.Status.DONT_KNOW]
    )
    if before is not None:
        query = query.exclude(pk=before.pk)
    rows = list(query.order_by("-created_at").values_list("role", "content")[:HISTORY_MESSAGES])
    rows.reverse()
    return [(role, content) for role, content in rows if content]


def _supplied_history(history: SuppliedHistory) -> list[tuple[str, str]]:
    """The caller's user and assistant messages as (role, content); system messages are dropped, because the
    bot's own system prompt and rules frame every answer."""
    rows: list[tuple[str, str]] = []
    for item in history:
        if isinstance(item, Mapping):
            role, content = item.get("role"), item.get("content")
        else:
            role, content = item.role, item.content
        if role in (Message.Role.USER, Message.Role.ASSISTANT) and isinstance(content, str) and content.strip():
            rows.append((str(role), content))
    return rows


@transaction.atomic
def chat_turn_start(
    *,
    bot: Chatbot,
    message: str,
    conversation_id: uuid.UUID | str | None = None,
    actor: Actor | None = None,
    history: SuppliedHistory | None = None,
    source: str = Conversation.Source.API,
    on_saved: Callable[[Message], None] | None = None,
    question: Message | None = None,
) -> ChatTurn:
    """Check the question, find or open the conversation, and save the user's message.

    Doors call apps.chatbot.services.turns.chat_turn_open, which loads the bot for an actor and applies its
    restrictions, quota and metering before calling this.

    With `history`, the prompt's earlier turns are the caller's, and the stored conversation's are not read
    (the conversation is still opened, or continued, and the question saved, so analytics and export see it).
    """
    started = time.perf_counter()
    question_text = (message or "").strip()
    limit = int(settings.CHAT_MAX_MESSAGE_CHARS)
    if not question_text:
        raise ChatInputInvalid("The message is empty.", details={"message": ["Write a question."]})
    if len(question_text) > limit:
        raise ChatInputInvalid(
            f"The message is too long ({len(question_text)} characters; at most {limit}).",
            details={"message": [f"At most {limit} characters."]},
        )
    if question is not None:  # a stored message of a member room: the answer goes there, replying to it
        window = history_window(_supplied_history(history or []), budget=int(settings.CHAT_HISTORY_TOKEN_BUDGET))
        return ChatTurn(bot, question.conversation, question, question_text, window, started, on_saved)
    if conversation_id:
        conversation = (
            Conversation.objects.for_org(bot.organization_id)
            .select_for_update()
            .filter(pk=conversation_id, bot=bot)
            .first()
        )
        if conversation is None:
            raise NotFound("Conversation not found.")
        history_rows = _load_history(conversation, None) if history is None else []
    else:
        conversation = bot_conversation_open(bot=bot, actor=actor, title=question_text[:200], source=source)
        history_rows = []
    if history is not None:
        history_rows = _supplied_history(history)
    # The database numbers the message and stamps the conversation's last_message_at (ADR 0023).
    user_message = Message.objects.create(
        organization_id=bot.organization_id,
        conversation=conversation,
        role=Message.Role.USER,
        content=question_text,
        **message_sender(actor),
    )
    emit(EventType.MESSAGE_CREATED, organization=bot.organization_id, payload=message_event_payload(user_message))
    window = history_window(history_rows, budget=int(settings.CHAT_HISTORY_TOKEN_BUDGET))
    return ChatTurn(bot, conversation, user_message, question_text, window, started, on_saved)


# ------------------------------------------------------------------------------------------ retrieval


def bot_collections_prefetch() -> Prefetch:
    """Load a bot's collections with their embedding providers along with the bot (what retrieval reads)."""
    from apps.documents.models import Collection

    return Prefetch("collections", queryset=Collection.objects.unscoped().select_related("embedding_provider"))


def _collections(bot: Chatbot) -> list[Any]:
    if getattr(bot, "pk", None) is None:
        return []
    if "collections" in getattr(bot, "_prefetched_objects_cache", {}):
        return list(bot.collections.all())
    return list(bot.collections.select_related("embedding_provider"))


def retrieve(*, bot: Chatbot, question: str) -> list[PassageLike]:
    """The bot's relevant passages: hybrid search over its collections, filtered by minimum relevance."""
    collections = _collections(bot)
    if not collections:
        return []
    from apps.documents.services.search import search_chunks

    hits = search_chunks(
        organization=bot.organization_id, query=question, collections=collections, top_k=bot.top_k, mode="hybrid"
    )
    return [hit for hit in hits if is_relevant(hit, bot.min_relevance)]


def is_relevant(hit: Any, min_relevance: float) -> bool:
    """Whether a hit is relevant enough to answer from, judged on an absolute signal.

    The fused `score` is relative to the query's candidates (the best hit scores near 1 for any question), so
    it cannot say "nothing relevant". The hit's cosine similarity (`vector_score`) can: it is compared with
    the bot's minimum relevance. Without a vector score (full-text-only hits), a lexical match decides; a hit
    that carries neither signal falls back to its score.
    """
    vector_score = getattr(hit, "vector_score", None)
    if vector_score is not None:
        return bool(vector_score >= min_relevance)
    text_score = getattr(hit, "text_score", None)
    if text_score is not None:
        return bool(text_score > 0)
    return bool(hit.score >= min_relevance)


# --------------------------------------------------------------------------------------------- stream


def _lend_pooled_connections() -> None:
    """While the provider thinks, a pooled connection goes back to the pool for other requests (taken again
    to save the answer); a plain or persistent connection is kept, and so is one inside a transaction."""
    for connection in connections.all(initialized_only=True):
        if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
            connection.close()


def _ms(since: float) -> int:
    return max(0, int((time.perf_counter() - since) * 1000))


def _candidates(bot: Chatbot) -> list[tuple[ChatbotProvider | None, str]]:
    primary = (bot.provider, bot.model or (bot.provider.default_chat_model if bot.provider else OFFLINE_CHAT_MODEL))
    candidates = [primary]
    if bot.fallback_provider is not None:
        candidates.append((bot.fallback_provider, bot.fallback_provider.default_chat_model))
    return candidates


@dataclass
class _Progress:
    parts: list[str] = field(default_factory=list)
    usage: Usage | None = None
    provider_name: str = ""
    model: str = ""
    retrieval_ms: int | None = None
    ttft_ms: int | None = None
    saved: Message | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _save(
    turn: ChatTurn,
    progress: _Progress,
    *,
    status: str,
    content: str,
    citations: list[dict[str, Any]] | None = None,
    error: DomainError | None = None,
) -> Message:
    usage = progress.usage
    message = Message.objects.create(
        organization_id=turn.bot.organization_id,
        conversation=turn.conversation,
        role=Message.Role.ASSISTANT,
        content=content,
        status=status,
        citations=citations or [],
        provider_name=progress.provider_name,
        model=(usage.model if usage else "") or progress.model,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        retrieval_ms=progress.retrieval_ms,
        ttft_ms=progress.ttft_ms,
        total_ms=_ms(turn.started),
        error_code=error.code if error else "",
        error_message=error.message if error else "",
        sender_kind=SenderKind.BOT,
        sender_bot=turn.bot,
        # In a member room the answer replies to the question (bot conversations alternate, nothing to say).
        reply_to=turn.user_message if turn.conversation.kind != Conversation.Kind.BOT else None,
    )
    payload = {**message_event_payload(message), "kind": turn.conversation.kind}  # rooms ring their doorbell
    emit(EventType.MESSAGE_CREATED, organization=turn.bot.organization_id, payload=payload)
    progress.saved = message
    if turn.on_saved is not None:
        try:
            turn.on_saved(message)
        except Exception:  # a metering hiccup must not lose the answer
            logger.exception("bot %s: the on_saved hook failed for message %s", turn.bot.pk, message.pk)
    return message


def turn_summary(turn: ChatTurn, message: Message) -> dict[str, Any]:
    return {
        "conversation_id": str(turn.conversation.pk),
        "user_message_id": str(turn.user_message.pk),
        "message_id": str(message.pk),
        "user_message_seq": turn.user_message.seq,
        "seq": message.seq,
        "status": message.status,
        "model": message.model,
        "usage": {"prompt_tokens": message.prompt_tokens, "completion_tokens": message.completion_tokens},
        "latency_ms": {
            "retrieval": message.retrieval_ms,
            "first_token": message.ttft_ms,
            "total": message.total_ms,
        },
    }


def _generate(turn: ChatTurn, progress: _Progress, passages: Sequence[PassageLike]) -> Iterator[ChatEvent]:
    bot = turn.bot
    messages = build_messages(
        bot_name=bot.name,
        tone=bot.tone,
        dont_know=bot.dont_know_message,
        system_prompt=bot.system_prompt,
        history=turn.history,
        question=turn.question,
        passages=passages,
    )
    texts = [p.text for p in passages]
    candidates = _candidates(bot)
    for index, (provider, model) in enumerate(candidates):
        progress.provider_name = provider.name if provider else "Offline"
        progress.model = model
        try:
            for event in stream_chat(
                provider=provider,
                messages=messages,
                model=model,
                temperature=bot.temperature,
                max_tokens=bot.max_answer_tokens,
                passages=texts,
                question=turn.question,
            ):
                if isinstance(event, TextDelta):
                    if progress.ttft_ms is None:
                        progress.ttft_ms = _ms(turn.started)
                    progress.parts.append(event.text)
                    yield TokenEvent(event.text)
                elif isinstance(event, Usage):
                    progress.usage = event
            return
        except ProviderError as error:
            if progress.parts or index == len(candidates) - 1:
                raise
            logger.warning(
                "bot %s: %s failed before the first token (%s); using the fallback",
                bot.pk,
                progress.provider_name,
                error.code,
            )


def chat_turn_stream(turn: ChatTurn) -> Generator[ChatEvent, None, None]:
    """Answer the turn. Yields TokenEvent*, then CitationsEvent and DoneEvent, or an ErrorEvent. Never raises."""
    progress = _Progress()
    bot = turn.bot
    try:
        retrieval_started = time.perf_counter()
        passages = retrieve(bot=bot, question=turn.question)
        progress.retrieval_ms = _ms(retrieval_started)
        _lend_pooled_connections()
        if passages:
            yield from _generate(turn, progress, passages)
        answer = progress.text.strip()
        if not passages or not answer:
            if progress.ttft_ms is None:
                progress.ttft_ms = _ms(turn.started)
            yield TokenEvent(bot.dont_know_message)
            message = _save(turn, progress, status=Message.Status.DONT_KNOW, content=bot.dont_know_message)
            yield CitationsEvent([])
            yield DoneEvent(turn_summary(turn, message))
            return
        citations = citations_for(answer, passages)
        message = _save(turn, progress, status=Message.Status.COMPLETE, content=answer, citations=citations)
        yield CitationsEvent(citations)
        yield DoneEvent(turn_summary(turn, message))
    except GeneratorExit:
        # The client went away: keep what was said so far.
        if progress.saved is None:
            _save(turn, progress, status=Message.Status.INTERRUPTED, content=progress.text)
        raise
    except DomainError as error:
        if progress.saved is not None:
            return
        message = _save(turn, progress, status=Message.Status.FAILED, content=progress.text, error=error)
        yield ErrorEvent(error.code, error.message, error.status_code, turn_summary(turn, message))
    except Exception:
        logger.exception("bot %s: the answer pipeline failed", bot.pk)
        if progress.saved is not None:
            return
        failure = AnswerFailed()
        message = _save(turn, progress, status=Message.Status.FAILED, content=progress.text, error=failure)
        yield ErrorEvent(failure.code, failure.message, 502, turn_summary(turn, message))
