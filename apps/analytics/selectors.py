"""Figures of one organization over a window of UTC days, optionally for one bot: volume, answer quality,
feedback, latency percentiles, tokens by provider, questions the bots could not answer, API usage.

Every figure is one aggregate query over the rows the chatbot and api_keys apps store, read through
`for_org` (fail-closed) and served by the indexes of chatbot migration 0007. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.search import SearchVector
from django.db.models import Aggregate, Count, Exists, F, FloatField, Func, Max, OuterRef, Q, QuerySet, Sum, TextField
from django.db.models.functions import Coalesce, TruncDate

from apps.api_keys import selectors as api_key_selectors
from apps.chatbot.models import MESSAGE_SEARCH_CONFIG, Chatbot, Conversation, Feedback, Message
from apps.documents.models import Document, DocumentStatus

MAX_DAYS = 366


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)` (nulls are ignored)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class Window:
    """UTC days `start`..`end` (inclusive), optionally one bot."""

    start: date
    end: date
    bot_id: Any = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)


def window_make(*, start: date | None, end: date | None, bot_id: Any = None, default_days: int = 30) -> Window:
    """The window a page or API asks for: the last `default_days` days by default, at most MAX_DAYS long."""
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=default_days - 1)
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS - 1))
    return Window(start=start, end=end, bot_id=bot_id)


def _messages(organization: Any, window: Window) -> QuerySet[Message]:
    rows = Message.objects.for_org(organization).filter(created_at__gte=window.since, created_at__lt=window.until)
    if window.bot_id:
        rows = rows.filter(conversation__bot_id=window.bot_id)
    return rows


def _answers(organization: Any, window: Window) -> QuerySet[Message]:
    return _messages(organization, window).filter(role=Message.Role.ASSISTANT)


def _by_day(rows: QuerySet[Any], **aggregates: Any) -> dict[date, dict[str, Any]]:
    grouped = rows.annotate(day=TruncDate("created_at", tzinfo=UTC)).order_by().values("day").annotate(**aggregates)
    return {row.pop("day"): row for row in grouped}


def _series(window: Window, found: dict[date, dict[str, Any]], empty: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per day of the window (days without data get `empty`), oldest first."""
    return [{"date": day, **found.get(day, empty)} for day in window.days()]


def volume_per_day(*, organization: Any, window: Window) -> list[dict[str, Any]]:
    """Conversations started, questions asked and answers given, per day."""
    conversations = Conversation.objects.for_org(organization).filter(
        created_at__gte=window.since, created_at__lt=window.until
    )
    if window.bot_id:
        conversations = conversations.filter(bot_id=window.bot_id)
    started = _by_day(conversations, conversations=Count("pk"))
    messages = _by_day(
        _messages(organization, window),
        questions=Count("pk", filter=Q(role=Message.Role.USER)),
        answers=Count("pk", filter=Q(role=Message.Role.ASSISTANT)),
    )
    return [
        {
            "date": day,
            "conversations": started.get(day, {}).get("conversations", 0),
            "questions": messages.get(day, {}).get("questions", 0),
            "answers": messages.get(day, {}).get("answers", 0),
        }
        for day in window.days()
    ]


def answer_quality_per_day(*, organization: Any, window: Window) -> list[dict[str, Any]]:
    """Answers per day by outcome, and the share answered from the documents (of the answers that did not fail)."""
    status = Message.Status
    found = _by_day(
        _answers(organization, window),
        answered=Count("pk", filter=Q(status=status.COMPLETE)),
        dont_know=Count("pk", filter=Q(status=status.DONT_KNOW)),
        failed=Count("pk", filter=Q(status__in=[status.FAILED, status.INTERRUPTED])),
    )
    rows = _series(window, found, {"answered": 0, "dont_know": 0, "failed": 0})
    for row in rows:
        judged = row["answered"] + row["dont_know"]
        row["answered_rate"] = round(row["answered"] / judged, 4) if judged else None
    return rows


def feedback_per_day(*, organization: Any, window: Window) -> list[dict[str, Any]]:
    """Thumbs up and down given per day, and the share of thumbs up."""
    given = Feedback.objects.for_org(organization).filter(created_at__gte=window.since, created_at__lt=window.until)
    if window.bot_id:
        given = given.filter(message__conversation__bot_id=window.bot_id)
    found = _by_day(
        given,
        up=Count("pk", filter=Q(rating=Feedback.Rating.UP)),
        down=Count("pk", filter=Q(rating=Feedback.Rating.DOWN)),
    )
    rows = _series(window, found, {"up": 0, "down": 0})
    for row in rows:
        total = row["up"] + row["down"]
        row["up_ratio"] = round(row["up"] / total, 4) if total else None
    return rows


def latency_per_day(*, organization: Any, window: Window) -> list[dict[str, Any]]:
    """Time to first token and total answer time, median and 95th percentile, in milliseconds, per day."""
    found = _by_day(
        _answers(organization, window),
        ttft_p50=PercentileCont("ttft_ms", fraction=0.5),
        ttft_p95=PercentileCont("ttft_ms", fraction=0.95),
        total_p50=PercentileCont("total_ms", fraction=0.5),
        total_p95=PercentileCont("total_ms", fraction=0.95),
    )
    rows = _series(window, found, {"ttft_p50": None, "ttft_p95": None, "total_p50": None, "total_p95": None})
    for row in rows:
        for name in ("ttft_p50", "ttft_p95", "total_p50", "total_p95"):
            row[name] = round(row[name]) if row[name] is not None else None
    return rows


def tokens_by_provider(*, organization: Any, window: Window) -> list[dict[str, Any]]:
    """Prompt and completion tokens per day and provider (the provider's name when the answer was given)."""
    rows = (
        _answers(organization, window)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .order_by()
        .values("day", "provider_name")
        .annotate(prompt_tokens=Sum("prompt_tokens"), completion_tokens=Sum("completion_tokens"))
        .order_by("day", "provider_name")
    )
    return [
        {
            "date": row["day"],
            "provider": row["provider_name"] or "offline",
            "prompt_tokens": row["prompt_tokens"],
            "completion_tokens": row["completion_tokens"],
        }
        for row in rows
    ]


def per_bot(*, organization: Any, window: Window) -> list[dict[str, Any]]:
    """The window's figures bot by bot (conversations with a bot only), busiest first.

    Four grouped queries (answers with their percentiles, questions, feedback given in the window,
    conversations started) rather than one: a single grouping with FILTERed percentiles, a join to the
    feedback and a distinct count sorted every message several times over (docs/benchmarks.md).
    """
    status = Message.Status
    answers = (
        _answers(organization, window)
        .filter(conversation__bot__isnull=False)
        .order_by()
        .values(bot=F("conversation__bot_id"))
        .annotate(
            answered=Count("pk", filter=Q(status=status.COMPLETE)),
            dont_know=Count("pk", filter=Q(status=status.DONT_KNOW)),
            failed=Count("pk", filter=Q(status__in=[status.FAILED, status.INTERRUPTED])),
            ttft_p50=PercentileCont("ttft_ms", fraction=0.5),
            ttft_p95=PercentileCont("ttft_ms", fraction=0.95),
            total_p50=PercentileCont("total_ms", fraction=0.5),
            total_p95=PercentileCont("total_ms", fraction=0.95),
            tokens=Coalesce(Sum(F("prompt_tokens") + F("completion_tokens")), 0),
        )
    )
    questions = dict(
        _messages(organization, window)
        .filter(role=Message.Role.USER, conversation__bot__isnull=False)
        .order_by()
        .values_list("conversation__bot_id")
        .annotate(n=Count("pk"))
    )
    given = Feedback.objects.for_org(organization).filter(
        created_at__gte=window.since, created_at__lt=window.until, message__conversation__bot__isnull=False
    )
    started = Conversation.objects.for_org(organization).filter(
        created_at__gte=window.since, created_at__lt=window.until, bot__isnull=False
    )
    if window.bot_id:
        given = given.filter(message__conversation__bot_id=window.bot_id)
        started = started.filter(bot_id=window.bot_id)
    feedback = {
        row.pop("bot"): row
        for row in given.order_by()
        .values(bot=F("message__conversation__bot_id"))
        .annotate(
            up=Count("pk", filter=Q(rating=Feedback.Rating.UP)), down=Count("pk", filter=Q(rating=Feedback.Rating.DOWN))
        )
    }
    conversations = dict(started.order_by().values_list("bot_id").annotate(n=Count("pk")))
    by_bot = {row.pop("bot"): row for row in answers}
    names = dict(
        Chatbot.objects.for_org(organization)
        .filter(pk__in=set(by_bot) | set(questions) | set(conversations) | set(feedback))
        .values_list("pk", "name")
    )
    empty = {"answered": 0, "dont_know": 0, "failed": 0, "up": 0, "down": 0, "tokens": 0}
    result = []
    for bot_id, name in names.items():
        row: dict[str, Any] = {**empty, "ttft_p50": None, "ttft_p95": None, "total_p50": None, "total_p95": None}
        row.update(by_bot.get(bot_id, {}))
        row.update(feedback.get(bot_id, {}))
        judged = row["answered"] + row["dont_know"]
        rated = row["up"] + row["down"]
        row.update(
            bot_id=str(bot_id),
            bot_name=name,
            conversations=conversations.get(bot_id, 0),
            questions=questions.get(bot_id, 0),
            answered_rate=round(row["answered"] / judged, 4) if judged else None,
            up_ratio=round(row["up"] / rated, 4) if rated else None,
        )
        for key in ("ttft_p50", "ttft_p95", "total_p50", "total_p95"):
            row[key] = round(row[key]) if row[key] is not None else None
        result.append(row)
    return sorted(result, key=lambda row: (-row["questions"], row["bot_name"]))


def dont_know_questions(*, organization: Any, window: Window, limit: int = 20) -> list[dict[str, Any]]:
    """The questions the bots could not answer from the documents, grouped so that rewordings of one question
    land together: what content is missing, most asked first.

    The group key is the question's set of English lexemes (`strip(to_tsvector('english', content))`: stemmed,
    stop words and punctuation gone, in alphabetical order), so "How do I reset my password?" and "reset
    password how" share one key. It is one GROUP BY in SQL, needs no model and explains itself; it does not
    join synonyms ("change" vs "reset"), which an embedding clustering would.
    """
    answers = _answers(organization, window).filter(status=Message.Status.DONT_KNOW)
    questions = Message.objects.for_org(organization).filter(
        role=Message.Role.USER,
        created_at__gte=window.since,
        created_at__lt=window.until,
    )
    # The question of a "don't know" answer is the message just before it in its conversation.
    questions = questions.filter(
        Exists(answers.filter(conversation_id=OuterRef("conversation_id"), seq=OuterRef("seq") + 1))
    )
    grouped = (
        questions.annotate(key=_lexemes("content"))
        .order_by()
        .values("key")
        .annotate(count=Count("pk"), example=_latest("content"), last_asked=Max("created_at"))
        .order_by("-count", "-last_asked")[:limit]
    )
    return [
        {"question": row["example"], "count": row["count"], "last_asked": row["last_asked"], "terms": row["key"]}
        for row in grouped
    ]


def _latest(field: str) -> Func:
    """The group's most recent value of `field` (its latest wording, as an example)."""
    latest_first = ArrayAgg(field, order_by=["-created_at"])
    return Func(latest_first, function="", template="(%(expressions)s)[1]", output_field=TextField())


def _lexemes(field: str) -> Func:
    """`strip(to_tsvector('english', field))::text`: the field's distinct stemmed words, sorted."""
    stripped = Func(SearchVector(field, config=MESSAGE_SEARCH_CONFIG), function="strip")
    return Func(stripped, function="", template="(%(expressions)s)::text", output_field=TextField())


def api_usage_per_day(*, organization: Any, window: Window) -> list[dict[str, Any]]:
    """API requests, tokens and errors per day, all keys together (the api_keys app's counters)."""
    found = {
        usage.date: {"requests": usage.requests, "tokens": usage.tokens, "errors": usage.errors}
        for usage in api_key_selectors.usage_per_day(organization=organization, start=window.start, end=window.end)
    }
    return _series(window, found, {"requests": 0, "tokens": 0, "errors": 0})


def summary(*, organization: Any, window: Window) -> dict[str, Any]:
    """The window's totals (the figures above the charts)."""
    status = Message.Status
    totals = _messages(organization, window).aggregate(
        questions=Count("pk", filter=Q(role=Message.Role.USER)),
        answered=Count("pk", filter=Q(role=Message.Role.ASSISTANT, status=status.COMPLETE)),
        dont_know=Count("pk", filter=Q(role=Message.Role.ASSISTANT, status=status.DONT_KNOW)),
        failed=Count("pk", filter=Q(role=Message.Role.ASSISTANT, status__in=[status.FAILED, status.INTERRUPTED])),
        ttft_p50=PercentileCont("ttft_ms", fraction=0.5, filter=Q(role=Message.Role.ASSISTANT)),
        total_p95=PercentileCont("total_ms", fraction=0.95, filter=Q(role=Message.Role.ASSISTANT)),
    )
    conversations = Conversation.objects.for_org(organization).filter(
        created_at__gte=window.since, created_at__lt=window.until
    )
    if window.bot_id:
        conversations = conversations.filter(bot_id=window.bot_id)
    judged = totals["answered"] + totals["dont_know"]
    return {
        **totals,
        "conversations": conversations.count(),
        "answered_rate": round(totals["answered"] / judged, 4) if judged else None,
        "ttft_p50": round(totals["ttft_p50"]) if totals["ttft_p50"] is not None else None,
        "total_p95": round(totals["total_p95"]) if totals["total_p95"] is not None else None,
    }


CHARTS = {
    "volume": volume_per_day,
    "answers": answer_quality_per_day,
    "feedback": feedback_per_day,
    "latency": latency_per_day,
    "tokens": tokens_by_provider,
    "bots": per_bot,
    "dont-know": dont_know_questions,
    "api-usage": api_usage_per_day,
}


DASHBOARD_DAYS = 7
ATTENTION_LIMIT = 5


def dashboard(*, organization: Any) -> dict[str, Any]:
    """The dashboard's numbers: documents and chunks now, the last seven days' conversations and "don't know"
    rate, and the failed documents that need someone to look at them."""
    week = summary(organization=organization, window=window_make(start=None, end=None, default_days=DASHBOARD_DAYS))
    documents = Document.objects.for_org(organization)
    stock = documents.aggregate(
        documents=Count("pk"),
        ready=Count("pk", filter=Q(status=DocumentStatus.READY)),
        failed=Count("pk", filter=Q(status=DocumentStatus.FAILED)),
        chunks=Coalesce(Sum("chunk_count", filter=Q(status=DocumentStatus.READY)), 0),
    )
    judged = week["answered"] + week["dont_know"]
    return {
        **stock,
        "days": DASHBOARD_DAYS,
        "conversations": week["conversations"],
        "questions": week["questions"],
        "dont_know": week["dont_know"],
        "dont_know_rate": round(week["dont_know"] / judged, 4) if judged else None,
        "needs_attention": list(
            documents.filter(status=DocumentStatus.FAILED)
            .select_related("collection")
            .order_by("-updated_at")[:ATTENTION_LIMIT]
        ),
    }
