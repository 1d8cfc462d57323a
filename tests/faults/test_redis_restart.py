"""Redis goes away and comes back (killed, restarted empty) while the app keeps running.

What a client sees: limits and quotas fail closed (503 `service_unavailable` with Retry-After, never a request
admitted unchecked, never a 500); an answer already streaming finishes and is saved; once Redis answers again,
the same process serves and limits requests as before, without a restart.
"""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from apps.api_keys.tests.factories import APIKeyFactory
from apps.chatbot.models import Message
from apps.chatbot.tests.conftest import HANDBOOK, sse_events
from apps.chatbot.tests.factories import ChatbotFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def _clear_of_the_minute_boundary() -> None:
    """Rate windows are calendar minutes: start a short sequence where it cannot straddle two of them."""
    if time.time() % 60 > 55:
        time.sleep(61 - time.time() % 60)


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0


def test_api_keys_are_refused_while_redis_is_down_and_limited_again_once_it_is_back(private_redis, organization):
    key = APIKeyFactory(organization=organization, rate_limit_per_minute=3)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")
    _clear_of_the_minute_boundary()
    assert client.get("/api/v1/collections").status_code == 200

    private_redis.stop()
    _assert_unavailable(client.get("/api/v1/collections"))  # fail closed: not admitted without its limit

    private_redis.start()  # empty: the window starts again
    statuses = [client.get("/api/v1/collections").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_sign_in_is_refused_while_its_limit_cannot_be_counted_then_works_again(private_redis, user, password):
    client = APIClient()
    body = {"email": user.email, "password": password}
    private_redis.stop()
    _assert_unavailable(client.post("/api/v1/auth/login", body, format="json"))
    private_redis.start()
    response = client.post("/api/v1/auth/login", body, format="json")
    assert response.status_code == 200
    assert response.json()["access"]


def test_the_sign_in_page_says_to_try_again_shortly_while_redis_is_down(private_redis, client, user, password):
    private_redis.stop()
    response = client.post("/login/", {"email": user.email, "password": password})
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "Back in a moment" in response.content.decode()
    private_redis.start()
    assert client.post("/login/", {"email": user.email, "password": password}).status_code == 302


@pytest.fixture
def handbook(monkeypatch):
    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))


def test_an_answer_streaming_when_redis_dies_is_finished_and_saved_and_the_next_question_waits_for_redis(
    private_redis, member_client, organization, openai_provider, loopback, handbook
):
    loopback.state.reply = "Employees get twenty five days of paid vacation [1]."
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    url = f"/api/v1/bots/{bot.id}/chat"
    response = member_client.post(url, {"message": "How much vacation?"}, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200
    stream = iter(response.streaming_content)
    chunks = [next(stream)]
    assert b"event: token" in chunks[0]
    private_redis.stop()  # mid-answer: metering this answer will fail
    chunks.extend(stream)
    events = sse_events(chunks)
    assert [name for name, _ in events][-2:] == ["citations", "done"]
    done = events[-1][1]
    answer = Message.objects.unscoped().get(pk=done["message_id"])
    assert answer.status == Message.Status.COMPLETE
    assert answer.content == "Employees get twenty five days of paid vacation [1]."
    assert answer.completion_tokens > 0  # the usage is on the record even though Redis did not count it

    conversation = done["conversation_id"]
    follow_up = {"message": "And sick days?", "conversation_id": conversation}
    _assert_unavailable(member_client.post(url, follow_up))  # the token quota cannot be checked

    private_redis.start()
    again = member_client.post(url, follow_up)
    assert again.status_code == 200, again.content
    assert again.json()["status"] == "complete"
    stored = Message.objects.unscoped().filter(conversation_id=conversation).order_by("seq")
    assert [(m.role, m.status) for m in stored] == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "complete"),
    ]
