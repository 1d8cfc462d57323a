"""The answer pipeline: history window → hybrid retrieval → delimited prompt → streamed answer → citations.

`chat_turn_start` validates and saves the user's message (errors here are 4xx for the caller).
`chat_turn_stream` then yields events (token, citations, done | error) and never raises: provider
failures, timeouts and cut streams end with an error event and a persisted assistant message that
records what happened (failed before the first token, interrupted after it, with the partial answer).
If the consumer goes away (client disconnect), the partial answer is saved as interrupted.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Prefetch

from apps.chatbot.models import Chatbot, Conversation, Message, SenderKind
from apps.chatbot.services.conversations import (
    bot_conversation_opened,
    bot_conversation_rows,
    message_event_payload,
    message_sender,
)
from apps.chatbot.services.interrupted import turn_closed, turn_progress
from apps.chatbot.services.prompting import (
    PassageLike,
    build_messages,
    citations_for,
    history_window,
    quote,
    snippet,
)
from apps.chatbot_provider.clients import ChatMessage, TextDelta, Usage, stream_chat
from apps.chatbot_provider.errors import ProviderError
from apps.chatbot_provider.models import OFFLINE_CHAT_MODEL, ChatbotProvider
from common.core.errors import DomainError, NotFound, ValidationFailed
from common.core.inserts import insert_rows
from common.core.redis import hot_writes_together
from common.events import EventType, delivered_together, emit, with_deliveries

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
    # Settings changed for this turn only (the playground's "try with other settings"): name → value. The
    # bot above already carries them, unsaved; the evidence records which ones were changed.
    overrides: dict[str, Any] = field(default_factory=dict)
    # The retrieval already run for this turn by `chat_turn_retrieve` (on the thread that saved the question),
    # else None: chat_turn_stream runs it.
    retrieval: Retrieval | None = None
    # The producer running this turn's pipeline for an event loop (apps.chatbot.streaming), once one is started.
    production: Any = None
    # A question whose save waits until the provider has been asked (ADR 0138), else None: it is saved.
    pending_question: PendingQuestion | None = None


class QuestionNotSaved(Exception):
    """The question of a turn could not be saved (by another thread, which reported why): nothing of the answer is
    saved or sent."""


class PendingQuestion:
    """A turn's question whose save is left until the provider has been asked (ADR 0138). It is saved once, by the
    first thread to get to it: the request's thread right after handing the turn to its stream
    (apps.chatbot.streaming.stream_handover), or the stream's before anything of the answer is sent or saved; the
    other thread waits for that save. A save that failed raises QuestionNotSaved in the other thread."""

    def __init__(self, save: Callable[[], None]) -> None:
        self._save = save
        self._lock = threading.Lock()
        self._done = False
        self.failed = False

    def save(self) -> None:
        with self._lock:
            if self._done:
                if self.failed:
                    raise QuestionNotSaved()
                return
            self._done = True
            try:
                self._save()
            except BaseException:
                self.failed = True
                raise


def chat_turn_question_save(turn: ChatTurn) -> None:
    """Save the turn's question now if its save was left for later (waiting for another thread's save of it)."""
    if turn.pending_question is not None:
        turn.pending_question.save()


def _question_kept(turn: ChatTurn) -> bool:
    """Whether the turn's question is saved (saving it now if that was left for later); False if its save failed."""
    try:
        chat_turn_question_save(turn)
    except Exception:
        return False
    return True


@dataclass(frozen=True)
class Retrieval:
    """A turn's retrieval run ahead of its stream: the passages, or the error the stream meets in their place."""

    passages: Sequence[PassageLike]
    wall_ms: int
    cpu: float  # seconds of the running thread's CPU
    error: Exception | None = None


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


def chat_turn_start(
    *,
    bot: Chatbot,
    message: str,
    conversation_id: uuid.UUID | str | None = None,
    actor: Actor | None = None,
    history: SuppliedHistory | None = None,
    source: str = Conversation.Source.API,
    on_saved: Callable[[Message], None] | None = None,
    client_msg_id: str = "",
    question: Message | None = None,
    save_question_later: bool = False,
) -> ChatTurn:
    """Check the question, find or open the conversation, and save the user's message.

    Doors call apps.chatbot.services.turns.chat_turn_open, which loads the bot for an actor and applies its
    restrictions, quota and metering before calling this.

    With `history`, the prompt's earlier turns are the caller's, and the stored conversation's are not read
    (the conversation is still opened, or continued, and the question saved, so analytics and export see it).

    A new conversation, its participants and the question are saved in one round trip (one statement string,
    all or nothing); a question in an existing conversation locks the conversation first, in a transaction.

    `save_question_later` (a door that hands the turn to a stream under ASGI): a new conversation's rows are saved
    once the provider has been asked, not before (ADR 0138): see PendingQuestion. An existing conversation is read
    and its question saved now, as without it.
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

    def user_message_in(conversation: Conversation) -> Message:
        return Message(
            organization_id=bot.organization_id,
            conversation=conversation,
            role=Message.Role.USER,
            content=question_text,
            client_msg_id=client_msg_id,
            **message_sender(actor),
        )

    def asked(conversation: Conversation, user_message: Message) -> None:
        payload = message_event_payload(user_message, source=conversation.source)
        emit(EventType.MESSAGE_CREATED, organization=bot.organization_id, payload=payload)
        # Until its answer is saved, the turn keeps a marker in the shared cache: if this process dies, a sweep
        # saves the answer as interrupted (apps.chatbot.services.interrupted).
        # With the commit's events when a door holds them (ADR 0137).
        transaction.on_commit(lambda: with_deliveries(lambda: turn_progress(user_message.pk, "")))

    # The database numbers the message and stamps the conversation's last_message_at (ADR 0023). A new
    # conversation needs no transaction of its own: its one statement string is one (implicit) transaction. Its
    # two events are facts of that one commit: delivered together, their subscribers read what they need once.
    pending: PendingQuestion | None = None
    if conversation_id:
        with delivered_together(), transaction.atomic():
            conversation = (
                Conversation.objects.for_org(bot.organization_id)
                .select_for_update()
                .filter(pk=conversation_id, bot=bot)
                .first()
            )
            if conversation is None:
                raise NotFound("Conversation not found.")
            history_rows = _load_history(conversation, None) if history is None else []
            user_message = user_message_in(conversation)
            insert_rows(user_message, returning=("seq",))
            asked(conversation, user_message)
    else:
        title = question_text[:200]
        conversation, participants = bot_conversation_rows(bot=bot, actor=actor, title=title, source=source)
        user_message = user_message_in(conversation)
        history_rows = []

        def save() -> None:
            with delivered_together():
                insert_rows(conversation, *participants, user_message, returning=("seq",))
                bot_conversation_opened(conversation)
                asked(conversation, user_message)

        if save_question_later:
            pending = PendingQuestion(save)
        else:
            save()
    if history is not None:
        history_rows = _supplied_history(history)
    window = history_window(history_rows, budget=int(settings.CHAT_HISTORY_TOKEN_BUDGET))
    return ChatTurn(bot, conversation, user_message, question_text, window, started, on_saved, pending_question=pending)


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


class Retrieved(list[PassageLike]):
    """The relevant passages, with the whole search result they came from (plan, timings, every hit)."""

    def __init__(self, passages: Sequence[PassageLike], search: Any = None) -> None:
        super().__init__(passages)
        self.search = search


def min_relevance_for(bot: Chatbot, collection: Any) -> float:
    """The cosine floor of a bot's passages from `collection`: the bot's own setting, else the one calibrated for
    the collection's embedder (a hashing embedder's and a neural model's cosines live on different scales)."""
    if bot.min_relevance is not None:
        return float(bot.min_relevance)
    from apps.documents.services.embed import embedder_is_lexical

    lexical = embedder_is_lexical(collection)
    return float(settings.ANSWER_MIN_RELEVANCE_LEXICAL if lexical else settings.ANSWER_MIN_RELEVANCE_NEURAL)


@dataclass(frozen=True)
class TextEvidence:
    """What makes a passage usable although its cosine is under the floor: it holds at least `min_coverage` of the
    question's idf weight and `min_idf` of it in absolute terms, with a cosine of at least `min_cosine`."""

    min_cosine: float
    min_coverage: float
    min_idf: float

    def holds(self, hit: Any) -> bool:
        return bool(
            (getattr(hit, "vector_score", None) or 0.0) >= self.min_cosine
            and (getattr(hit, "text_coverage", None) or 0.0) >= self.min_coverage
            and (getattr(hit, "text_idf", None) or 0.0) >= self.min_idf
        )


def text_evidence_for(bot: Chatbot, collection: Any) -> TextEvidence | None:
    """The lexical evidence that also admits a passage from `collection` (ADR 0025): for the offline hashing
    embedder only, whose cosine cannot tell a long passage holding the question's rare words from an unrelated one,
    and only when the bot sets no floor of its own. A neural model's cosine separates them (make eval-answers)."""
    from apps.documents.services.embed import embedder_is_lexical

    if bot.min_relevance is not None or not embedder_is_lexical(collection):
        return None
    return TextEvidence(
        min_cosine=float(settings.ANSWER_TEXT_EVIDENCE_MIN_COSINE),
        min_coverage=float(settings.ANSWER_TEXT_EVIDENCE_MIN_COVERAGE),
        min_idf=float(settings.ANSWER_TEXT_EVIDENCE_MIN_IDF),
    )


def retrieve(*, bot: Chatbot, question: str) -> list[PassageLike]:
    """The bot's relevant passages: hybrid search over its collections, filtered by minimum relevance."""
    collections = _collections(bot)
    if not collections:
        return Retrieved([])
    from apps.documents.services.search import search

    result = search(
        organization=bot.organization_id, query=question, collections=collections, top_k=bot.top_k, mode="hybrid"
    )
    floors = {
        collection.pk: (min_relevance_for(bot, collection), text_evidence_for(bot, collection))
        for collection in collections
    }
    strictest = (max(floor for floor, _ in floors.values()), None)
    return Retrieved(
        [hit for hit in result.hits if is_relevant(hit, *floors.get(hit.collection_id, strictest))], result
    )


def chat_turn_retrieve(turn: ChatTurn) -> Retrieval:
    """The turn's retrieval, run now on this thread and its database connection unless it already ran (once).

    The SSE doors under ASGI call it on the request's thread, which has just saved the question: the search
    uses the connection already checked out for it, where the stream's thread would take one from the pool only
    for the search and another for the answer's save (ADR 0124). An error is kept and raised where the stream
    would have met it, so the answer is saved as failed and the client gets the same error event.
    """
    if turn.retrieval is None:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            passages = retrieve(bot=turn.bot, question=turn.question)
        except Exception as error:
            turn.retrieval = Retrieval((), _ms(started), time.thread_time() - cpu_started, error)
        else:
            turn.retrieval = Retrieval(passages, _ms(started), time.thread_time() - cpu_started)
    return turn.retrieval


def is_relevant(hit: Any, min_relevance: float, evidence: TextEvidence | None = None) -> bool:
    """Whether a hit is relevant enough to answer from, judged on an absolute signal.

    The fused `score` is relative to the query's candidates (the best hit scores near 1 for any question), so
    it cannot say "nothing relevant". The hit's cosine similarity (`vector_score`) can: it is compared with
    the bot's minimum relevance; under it, the collection's `evidence` (TextEvidence) may still admit the hit.
    Without a vector score (full-text-only hits), a lexical match decides; a hit that carries neither signal falls
    back to its score.
    """
    vector_score = getattr(hit, "vector_score", None)
    if vector_score is not None:
        return bool(vector_score >= min_relevance) or (evidence is not None and evidence.holds(hit))
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
    checkpointed_at: float = 0.0
    search: Any = None  # the SearchResult retrieval read, when the bot has collections
    passages: Sequence[PassageLike] = ()
    attempts: list[dict[str, str]] = field(default_factory=list)  # each provider tried: name, model, error
    # CPU time of this thread (seconds) in retrieval (embedding the question, the search) and in the provider's
    # client (building the request, reading the stream): what the rest of an answer's CPU is measured against.
    retrieval_cpu: float = 0.0
    provider_cpu: float = 0.0

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
    chat_turn_question_save(turn)  # the answer follows its question
    usage = progress.usage
    message = Message(
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
        evidence=evidence_of(turn, progress, citations or []),
        # In a member room the answer replies to the question (bot conversations alternate, nothing to say).
        reply_to=turn.user_message if turn.conversation.kind != Conversation.Kind.BOT else None,
    )
    insert_rows(message, returning=("seq",))
    # rooms ring their doorbell by kind; the widget's subscriber reads only widget conversations
    payload = {**message_event_payload(message, source=turn.conversation.source), "kind": turn.conversation.kind}
    emit(EventType.MESSAGE_CREATED, organization=turn.bot.organization_id, payload=payload)
    progress.saved = message
    try:
        # The turn's marker cleared and the answer's tokens metered (on_saved) in one round trip (ADR 0126).
        with hot_writes_together():
            turn_closed(turn.user_message.pk)
            if turn.on_saved is not None:
                try:
                    turn.on_saved(message)
                except Exception:  # a metering hiccup must not lose the answer
                    logger.exception("bot %s: the on_saved hook failed for message %s", turn.bot.pk, message.pk)
    except Exception:  # the answer is saved; a marker left behind expires, and the sweep skips an answered question
        logger.exception("bot %s: clearing the turn's marker or metering message %s failed", turn.bot.pk, message.pk)
    return message


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def evidence_of(turn: ChatTurn, progress: _Progress, citations: list[dict[str, Any]]) -> dict[str, Any]:
    """What the answer was built from, kept with it: the search plan, fusion and timings, every hit the search
    returned with its vector, text and fused scores, whether it passed the minimum relevance (and so went into
    the prompt as passage [n]) and whether the answer cited it, the settings used, and each provider tried."""
    bot = turn.bot
    markers = {str(p.chunk_id): n for n, p in enumerate(progress.passages, start=1)}
    cited = {str(c.get("chunk_id")) for c in citations}
    result = progress.search
    hits = result.hits if result is not None else list(progress.passages)
    return {
        "plan": result.plan if result is not None else "",
        "fusion": result.fusion if result is not None else "",
        "scope_chunks": result.scope_chunks if result is not None else 0,
        "search_ms": {
            k.removesuffix("_ms"): round(float(v), 1)
            for k, v in (result.timings_ms if result is not None else {}).items()
        },
        "settings": {
            "top_k": bot.top_k,
            "min_relevance": bot.min_relevance,
            "provider": bot.provider.name if bot.provider else "Offline",
            "fallback_provider": bot.fallback_provider.name if bot.fallback_provider else "",
            "overridden": sorted(turn.overrides),
        },
        "passages": [
            {
                "chunk_id": str(hit.chunk_id),
                "document_id": str(hit.document_id),
                "document_title": hit.document_title,
                "page": hit.page,
                "heading": hit.heading,
                "snippet": snippet(hit.text),
                "score": _rounded(hit.score),
                "vector_score": _rounded(getattr(hit, "vector_score", None)),
                "text_score": _rounded(getattr(hit, "text_score", None)),
                "marker": markers.get(str(hit.chunk_id)),
                "cited": str(hit.chunk_id) in cited,
            }
            for hit in hits
        ],
        "attempts": list(progress.attempts),
        "cpu_ms": {
            "retrieval": round(progress.retrieval_cpu * 1000, 3),
            "provider": round(progress.provider_cpu * 1000, 3),
        },
        "fallback_used": len(progress.attempts) > 1,
    }


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


def _checkpoint(turn: ChatTurn, progress: _Progress) -> None:
    """The answer so far, into the turn's marker (at most every CHAT_PARTIAL_SAVE_SECONDS): what is saved as
    interrupted if this process dies before the answer is complete."""
    now = time.monotonic()
    if now - progress.checkpointed_at >= float(settings.CHAT_PARTIAL_SAVE_SECONDS):
        progress.checkpointed_at = now
        turn_progress(turn.user_message.pk, progress.text)


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
    texts = [quote(p.text) for p in passages]  # as the prompt shows them: markers of the documents defused
    candidates = _candidates(bot)
    for index, (provider, model) in enumerate(candidates):
        progress.provider_name = provider.name if provider else "Offline"
        progress.model = model
        attempt = {"provider": progress.provider_name, "model": model, "error": ""}
        progress.attempts.append(attempt)
        try:
            stream = stream_chat(
                provider=provider,
                messages=messages,
                model=model,
                temperature=bot.temperature,
                max_tokens=bot.max_answer_tokens,
                passages=texts,
                question=turn.question,
            )
            for event in _cpu_counted(stream, progress):
                if isinstance(event, TextDelta):
                    if progress.ttft_ms is None:
                        chat_turn_question_save(turn)  # asked: nothing of the answer leaves before its question
                        progress.ttft_ms = _ms(turn.started)
                    progress.parts.append(event.text)
                    yield TokenEvent(event.text)
                    _checkpoint(turn, progress)  # once the token has left: its Redis write is not on the token's way
                elif isinstance(event, Usage):
                    progress.usage = event
            return
        except ProviderError as error:
            attempt["error"] = error.code
            if progress.parts or index == len(candidates) - 1:
                raise
            logger.warning(
                "bot %s: %s failed before the first token (%s); using the fallback",
                bot.pk,
                progress.provider_name,
                error.code,
            )


def _cpu_counted(stream: Iterator[Any], progress: _Progress) -> Iterator[Any]:
    """The provider's events, counting the CPU its client spends producing them into `progress.provider_cpu`."""
    clock = time.thread_time
    while True:
        started = clock()
        try:
            event = next(stream)
        except StopIteration:
            return
        finally:
            progress.provider_cpu += clock() - started
        yield event


def _answered_meanwhile(turn: ChatTurn) -> bool:
    return (
        Message.objects.for_org(turn.bot.organization_id)
        .filter(conversation=turn.conversation, seq__gt=turn.user_message.seq, role=Message.Role.ASSISTANT)
        .exists()
    )


def chat_turn_stream(turn: ChatTurn) -> Generator[ChatEvent, None, None]:
    """Answer the turn. Yields TokenEvent*, then CitationsEvent and DoneEvent, or an ErrorEvent. Never raises."""
    progress = _Progress()
    bot = turn.bot
    try:
        retrieval = chat_turn_retrieve(turn)  # here, unless a door ran it ahead on the request's thread
        _lend_pooled_connections()
        progress.retrieval_cpu, progress.retrieval_ms = retrieval.cpu, retrieval.wall_ms
        if retrieval.error is not None:
            raise retrieval.error
        passages = retrieval.passages
        progress.passages, progress.search = passages, getattr(passages, "search", None)
        if passages:
            yield from _generate(turn, progress, passages)
        answer = progress.text.strip()
        if not passages or not answer:
            if progress.ttft_ms is None:
                chat_turn_question_save(turn)
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
        # The client went away: keep what was said so far (unless this process stalled so long that the
        # sweep of apps.chatbot.services.interrupted has already saved the answer as interrupted).
        if progress.saved is None and _question_kept(turn) and not _answered_meanwhile(turn):
            _save(turn, progress, status=Message.Status.INTERRUPTED, content=progress.text)
        raise
    except QuestionNotSaved:  # the request's thread failed to save it (and answered its request with the reason)
        failure = AnswerFailed()
        yield ErrorEvent(failure.code, failure.message, 502, {})
    except DomainError as error:
        if progress.saved is not None:
            return
        if not _question_kept(turn):
            yield ErrorEvent(error.code, error.message, error.status_code, {})
            return
        # A provider that stops mid-answer leaves it interrupted, what was said kept and the reason recorded;
        # one that fails before the first token (after its retries and the fallback) leaves it failed.
        status = Message.Status.INTERRUPTED if progress.parts else Message.Status.FAILED
        message = _save(turn, progress, status=status, content=progress.text, error=error)
        yield ErrorEvent(error.code, error.message, error.status_code, turn_summary(turn, message))
    except Exception:
        logger.exception("bot %s: the answer pipeline failed", bot.pk)
        if progress.saved is not None:
            return
        failure = AnswerFailed()
        if not _question_kept(turn):  # nothing to save the answer against
            yield ErrorEvent(failure.code, failure.message, 502, {})
            return
        message = _save(turn, progress, status=Message.Status.FAILED, content=progress.text, error=failure)
        yield ErrorEvent(failure.code, failure.message, 502, turn_summary(turn, message))
