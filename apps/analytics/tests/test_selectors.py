"""Analytics figures: what an admin reads on the analytics page, computed from stored conversations."""

from datetime import UTC, date, datetime, timedelta

import pytest

from apps.analytics import selectors
from apps.chatbot.models import Feedback, Message
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.now(UTC).date()


def _turn(conversation, question, *, status=Message.Status.COMPLETE, ttft=100, total=1000, provider="", tokens=(10, 5)):
    MessageFactory(conversation=conversation, role=Message.Role.USER, content=question)
    return MessageFactory(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=status,
        ttft_ms=ttft,
        total_ms=total,
        provider_name=provider,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
    )


def _window(**kwargs):
    return selectors.window_make(start=TODAY - timedelta(days=6), end=TODAY, **kwargs)


def test_volume_counts_conversations_questions_and_answers_per_day_with_empty_days(organization):
    conversation = ConversationFactory(bot=ChatbotFactory(organization=organization))
    _turn(conversation, "Vacation days?")
    _turn(conversation, "Sick leave?")
    rows = selectors.volume_per_day(organization=organization, window=_window())
    assert len(rows) == 7 and rows[0]["date"] == TODAY - timedelta(days=6)
    assert rows[-1] == {"date": TODAY, "conversations": 1, "questions": 2, "answers": 2}
    assert rows[0] == {"date": TODAY - timedelta(days=6), "conversations": 0, "questions": 0, "answers": 0}


def test_answer_quality_gives_the_answered_rate_and_latency_percentiles(organization):
    conversation = ConversationFactory(bot=ChatbotFactory(organization=organization))
    for ttft in (100, 200, 300):
        _turn(conversation, "q", ttft=ttft, total=ttft * 10)
    _turn(conversation, "unknown", status=Message.Status.DONT_KNOW, ttft=400, total=4000)
    quality = selectors.answer_quality_per_day(organization=organization, window=_window())[-1]
    assert quality["answered"] == 3 and quality["dont_know"] == 1 and quality["answered_rate"] == 0.75
    latency = selectors.latency_per_day(organization=organization, window=_window())[-1]
    assert latency["ttft_p50"] == 250  # percentile_cont interpolates between 200 and 300
    assert latency["total_p95"] == 3850
    assert selectors.latency_per_day(organization=organization, window=_window())[0]["ttft_p50"] is None


def test_feedback_tokens_and_per_bot_figures(organization):
    hr, it = ChatbotFactory(organization=organization, name="HR"), ChatbotFactory(organization=organization, name="IT")
    answer = _turn(ConversationFactory(bot=hr), "q", provider="OpenAI", tokens=(100, 20))
    Feedback.objects.create(organization=organization, message=answer, rating=Feedback.Rating.UP)
    bad = _turn(ConversationFactory(bot=it), "q", tokens=(7, 3))
    Feedback.objects.create(organization=organization, message=bad, rating=Feedback.Rating.DOWN)
    feedback = selectors.feedback_per_day(organization=organization, window=_window())[-1]
    assert (feedback["up"], feedback["down"], feedback["up_ratio"]) == (1, 1, 0.5)
    tokens = selectors.tokens_by_provider(organization=organization, window=_window())
    assert {(t["provider"], t["prompt_tokens"], t["completion_tokens"]) for t in tokens} == {
        ("OpenAI", 100, 20),
        ("offline", 7, 3),
    }
    bots = {row["bot_name"]: row for row in selectors.per_bot(organization=organization, window=_window())}
    assert bots["HR"]["up"] == 1 and bots["HR"]["tokens"] == 120 and bots["IT"]["down"] == 1
    only_hr = selectors.feedback_per_day(organization=organization, window=_window(bot_id=hr.pk))[-1]
    assert (only_hr["up"], only_hr["down"]) == (1, 0)


def test_dont_know_questions_are_grouped_across_rewordings(organization):
    bot = ChatbotFactory(organization=organization)
    for question in ("How do I reset my password?", "reset password how", "How do I RESET my passwords"):
        _turn(ConversationFactory(bot=bot), question, status=Message.Status.DONT_KNOW)
    _turn(ConversationFactory(bot=bot), "Where is the parking?", status=Message.Status.DONT_KNOW)
    _turn(ConversationFactory(bot=bot), "Vacation days?")  # answered: not listed
    groups = selectors.dont_know_questions(organization=organization, window=_window())
    assert [g["count"] for g in groups] == [3, 1]
    assert "password" in groups[0]["question"].lower()
    assert groups[1]["question"] == "Where is the parking?"


def test_figures_never_include_another_organization(organization, other_organization):
    _turn(ConversationFactory(bot=ChatbotFactory(organization=other_organization)), "q")
    assert selectors.summary(organization=organization, window=_window())["questions"] == 0


def test_the_window_is_bounded_and_ordered():
    window = selectors.window_make(start=date(2020, 1, 1), end=date(2026, 1, 1))
    assert (window.end - window.start).days == selectors.MAX_DAYS - 1
    assert selectors.window_make(start=date(2026, 2, 1), end=date(2026, 1, 1)).start == date(2026, 1, 1)
