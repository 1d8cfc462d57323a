"""The model provider fails: rate limits, server errors, timeouts, a stream dropped or stalled mid-answer.

A loopback server speaks the OpenAI wire format to the official SDK. Every case ends in a clear state the
client is told about: answered by the fallback provider when the main one fails before its first token,
or an error event with the answer saved (failed before the first token, interrupted after it, with what
had been said); the question is always kept and the conversation goes on.
"""

from __future__ import annotations

import pytest

from apps.chatbot.models import Message
from apps.chatbot.tests.conftest import HANDBOOK, sse_events
from apps.chatbot.tests.factories import ChatbotFactory
from apps.chatbot_provider.tests.loopback import Behaviour

pytestmark = pytest.mark.django_db
REPLY = "One two three four five six [1]."


@pytest.fixture(autouse=True)
def handbook(monkeypatch):
    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))


@pytest.fixture
def bots(organization, openai_provider, compatible_provider, loopback):
    """A bot on the OpenAI provider alone, and one with the local server as its fallback."""
    openai_provider.max_retries = 1
    openai_provider.timeout_seconds = 0.5
    openai_provider.save()
    loopback.state.api_key = None  # the fallback sends no key; the loopback takes any
    loopback.state.reply = REPLY
    alone = ChatbotFactory(organization=organization, provider=openai_provider)
    backed = ChatbotFactory(organization=organization, provider=openai_provider, fallback_provider=compatible_provider)
    return alone, backed


def _ask(client, bot, message="How much vacation?", **extra):
    response = client.post(
        f"/api/v1/bots/{bot.id}/chat", {"message": message, **extra}, HTTP_ACCEPT="text/event-stream"
    )
    assert response.status_code == 200
    return sse_events(response.streaming_content)


def _answer(events) -> Message:
    return Message.objects.unscoped().get(pk=events[-1][1]["message_id"])


@pytest.mark.parametrize(
    "failure",
    [Behaviour(status=429, retry_after="0"), Behaviour(status=500), Behaviour(stall_after=0)],
    ids=["rate-limited", "server-error", "timeout"],
)
def test_the_fallback_provider_answers_when_the_main_one_fails_before_its_first_token(
    member_client, bots, loopback, failure
):
    _alone, backed = bots
    loopback.push(failure, failure)  # the first try and the one retry
    events = _ask(member_client, backed)
    assert [name for name, _ in events][-2:] == ["citations", "done"]
    answer = _answer(events)
    assert (answer.status, answer.content, answer.provider_name) == ("complete", REPLY, "Local server")
    assert [r.body.get("model") for r in loopback.requests] == ["gpt-loop", "gpt-loop", "llama-loop"]


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (Behaviour(status=429, retry_after="0"), "provider_rate_limited"),
        (Behaviour(status=500), "provider_unavailable"),
        (Behaviour(stall_after=0), "provider_timeout"),
    ],
    ids=["rate-limited", "server-error", "timeout"],
)
def test_without_a_fallback_the_client_gets_an_error_event_and_the_failed_answer_is_kept(
    member_client, bots, loopback, failure, code
):
    alone, _backed = bots
    loopback.push(failure, failure)
    events = _ask(member_client, alone)
    assert [name for name, _ in events] == ["error"]
    error = events[0][1]
    assert error["code"] == code
    answer = _answer(events)
    assert (answer.status, answer.content, answer.error_code) == ("failed", "", code)
    question = Message.objects.unscoped().get(pk=error["user_message_id"])
    assert question.content == "How much vacation?"


@pytest.mark.parametrize(
    ("failure", "code"),
    [(Behaviour(cut_after=3), "provider_unavailable"), (Behaviour(stall_after=3), "provider_timeout")],
    ids=["connection-dropped", "stalled"],
)
def test_a_provider_that_stops_mid_answer_leaves_it_interrupted_with_what_was_said(
    member_client, bots, loopback, failure, code
):
    _alone, backed = bots
    loopback.push(failure)
    events = _ask(member_client, backed)
    assert [name for name, _ in events] == ["token", "token", "token", "error"]
    assert events[-1][1]["code"] == code
    answer = _answer(events)
    # Half an answer is not finished by another model: the fallback is for failures before the first token.
    assert (answer.status, answer.content, answer.error_code) == ("interrupted", "One two three", code)
    assert answer.error_message
    assert len(loopback.requests) == 1

    # The conversation goes on; the cut answer is not sent back to the model as if it had been complete.
    again = _ask(member_client, backed, "And sick days?", conversation_id=events[-1][1]["conversation_id"])
    assert _answer(again).status == "complete"
    history = [m["content"] for m in loopback.requests[-1].body["messages"]]
    assert not any(content == "One two three" for content in history)
    stored = Message.objects.unscoped().filter(conversation_id=events[-1][1]["conversation_id"]).order_by("seq")
    assert [m.status for m in stored if m.role == "assistant"] == ["interrupted", "complete"]
