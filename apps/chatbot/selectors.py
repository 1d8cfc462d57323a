"""Reads of the chatbot app: bots, conversations and their messages, within one organization (except
`conversations_last_seq`, which a server process runs for the conversations its sockets follow)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from apps.chatbot.models import MESSAGE_SEARCH_CONFIG, Chatbot, Conversation, Feedback, Message
from apps.documents.models import Chunk, Document
from common.core.errors import NotFound


def bot_list(*, organization: Any) -> QuerySet[Chatbot]:
    """The organization's bots by name, with their provider (the bots page)."""
    return Chatbot.objects.for_org(organization).select_related("provider").order_by("name")


def bot_get(*, organization: Any, bot_id: Any) -> Chatbot:
    bot = Chatbot.objects.for_org(organization).filter(pk=bot_id).first()
    if bot is None:
        raise NotFound("Bot not found.")
    return bot


def conversation_messages(*, organization: Any, conversation: Any) -> QuerySet[Message]:
    """A conversation's messages with their feedback (paginate or order as the caller needs)."""
    return Message.objects.for_org(organization).filter(conversation=conversation).select_related("feedback")


def message_get(*, organization: Any, message_id: Any) -> Message:
    """One message with its conversation (feedback checks the conversation's bot)."""
    message = Message.objects.for_org(organization).select_related("conversation").filter(pk=message_id).first()
    if message is None:
        raise NotFound("Message not found.")
    return message


# The conversations inbox (admin pages): every conversation of the organization, filtered and searched.

SEARCH_CONFIG = MESSAGE_SEARCH_CONFIG
OUTCOMES = {
    "answered": Message.Status.COMPLETE,
    "dont_know": Message.Status.DONT_KNOW,
    "failed": Message.Status.FAILED,
}


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox is narrowed to; every field is optional."""

    bot_id: Any = None
    source: str = ""
    start: date | None = None  # first day (UTC) of activity, inclusive
    end: date | None = None  # last day, inclusive
    outcome: str = ""  # a key of OUTCOMES: at least one answer with that status
    feedback: str = ""  # "up" | "down": at least one answer rated so
    handoff: str = ""  # "yes": a person was asked for at least once (widget handoff); "no": never
    q: str = ""  # full-text search in the messages


def message_search_vector() -> SearchVector:
    """The expression the GIN index of migration 0007 is built on (the query must repeat it to use it)."""
    return SearchVector("content", config=SEARCH_CONFIG)


def conversation_inbox(*, organization: Any, filters: InboxFilters) -> QuerySet[Conversation]:
    """The organization's conversations, most recent activity first, with their bot and what the list shows:
    the first question, the number of answers that did not know or failed, and thumbs up and down."""
    messages = Message.objects.for_org(organization)
    conversations = Conversation.objects.for_org(organization).select_related("bot", "user")
    if filters.bot_id:
        conversations = conversations.filter(bot_id=filters.bot_id)
    if filters.source:
        conversations = conversations.filter(source=filters.source)
    if filters.start:
        conversations = conversations.filter(last_message_at__gte=_day_start(filters.start))
    if filters.end:
        conversations = conversations.filter(created_at__lt=_day_start(filters.end + timedelta(days=1)))
    if filters.outcome in OUTCOMES:
        status = OUTCOMES[filters.outcome]
        conversations = conversations.filter(
            Exists(messages.filter(conversation=OuterRef("pk"), role=Message.Role.ASSISTANT, status=status))
        )
    if filters.feedback in Feedback.Rating.values:
        conversations = conversations.filter(
            Exists(
                Feedback.objects.for_org(organization).filter(
                    message__conversation=OuterRef("pk"), rating=filters.feedback
                )
            )
        )
    if filters.handoff == "yes":
        conversations = conversations.exclude(handoff_state="")
    elif filters.handoff == "no":
        conversations = conversations.filter(handoff_state="")
    if filters.q.strip():
        query = SearchQuery(filters.q.strip(), search_type="websearch", config=SEARCH_CONFIG)
        matching = messages.annotate(document=message_search_vector()).filter(document=query)
        conversations = conversations.filter(pk__in=matching.values("conversation_id"))
    first_question = messages.filter(conversation=OuterRef("pk"), role=Message.Role.USER).order_by("seq")
    per_conversation = messages.filter(conversation=OuterRef("pk")).order_by().values("conversation")
    rated = Feedback.objects.for_org(organization).filter(message__conversation=OuterRef("pk")).order_by()
    return conversations.annotate(
        first_question=Subquery(first_question.values("content")[:1]),
        not_known=_count(per_conversation.filter(status=Message.Status.DONT_KNOW)),
        failed=_count(per_conversation.filter(status=Message.Status.FAILED)),
        thumbs_up=_count(rated.filter(rating=Feedback.Rating.UP).values("message__conversation")),
        thumbs_down=_count(rated.filter(rating=Feedback.Rating.DOWN).values("message__conversation")),
    ).order_by(F("last_message_at").desc(nulls_last=True), "-created_at")


def _count(rows: QuerySet[Any]) -> Subquery:
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")[:1]), 0)  # type: ignore[return-value]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def conversation_get(*, organization: Any, conversation_id: Any) -> Conversation:
    conversation = (
        Conversation.objects.for_org(organization).select_related("bot", "user").filter(pk=conversation_id).first()
    )
    if conversation is None:
        raise NotFound("Conversation not found.")
    return conversation


def conversation_transcript(*, organization: Any, conversation: Conversation) -> list[Message]:
    """A conversation's messages in sequence, each answer's citations and evidence passages with the full text
    of their chunk (`["passage"]`, empty when the document was deleted since)."""
    messages = list(
        conversation_messages(organization=organization, conversation=conversation)
        .select_related("sender_user", "sender_bot")
        .order_by("seq")
    )
    quoted = [c for m in messages for c in [*m.citations, *(m.evidence or {}).get("passages", [])]]
    chunk_ids = {c.get("chunk_id") for c in quoted if c.get("chunk_id")}
    texts = {
        str(pk): text
        for pk, text in Chunk.objects.for_org(organization).filter(pk__in=chunk_ids).values_list("pk", "text")
    }
    document_ids = {c.get("document_id") for c in quoted if c.get("document_id")}
    pdfs = {
        str(pk)
        for pk in Document.objects.for_org(organization)
        .filter(pk__in=document_ids, mime_type="application/pdf")
        .exclude(file="")
        .values_list("pk", flat=True)
    }
    for item in quoted:
        item["passage"] = texts.get(item.get("chunk_id"), "")
        item["pdf"] = item.get("document_id") in pdfs  # the original opens at the passage's page
    return messages


def playground_conversations(*, organization: Any, bot: Chatbot, user: Any, limit: int = 30) -> list[Conversation]:
    """The user's own test-chat conversations with a bot, the latest first (the playground's history)."""
    return list(
        Conversation.objects.for_org(organization)
        .filter(bot=bot, user=user, source=Conversation.Source.WEB)
        .order_by("-last_message_at", "-created_at")[:limit]
    )


def conversations_last_seq(*, conversation_ids: list[str]) -> dict[str, int]:
    """The last seq of each of these conversations, in one query: a server process checks every conversation its
    sockets follow (rooms, widget conversations) against what they delivered, so that a ring the channel layer
    lost costs latency, not a message (ADR 0132)."""
    rows = (
        Conversation.objects.unscoped()  # deliberately across organizations: every socket of this process
        .filter(pk__in=conversation_ids)
        .values_list("pk", "last_seq")
    )
    return {str(pk): seq for pk, seq in rows}
