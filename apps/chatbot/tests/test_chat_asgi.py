"""POST /api/v1/bots/{id}/chat as Server-Sent Events from Docent served by uvicorn (config.asgi): the question of a
new conversation saved while the provider is asked (ADR 0138), and what a client and the subscribers get."""

# ruff: noqa: F811  (the fixtures imported below are parameters of the tests)
from __future__ import annotations

import time

import httpx
import pytest

from apps.chatbot.models import Message
from apps.chatbot.tests.conftest import sse_events
from apps.chatbot.tests.factories import ChatbotFactory
from apps.openai_compat.tests.conftest import chat_key, docent_server, handbook  # noqa: F401 (fixtures)
from common.events import EventType, subscribe, unsubscribe

pytestmark = pytest.mark.django_db(transaction=True)


def ask(server, key, bot, **body) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/bots/{bot.pk}/chat",
        json={"message": "How many vacation days do employees get?", **body},
        headers={"Authorization": f"Bearer {key.plaintext}", "Accept": "text/event-stream"},
        timeout=20,
    )


@pytest.fixture
def created():
    heard: list[dict] = []

    def hear(event):
        heard.append(event.payload)

    subscribe(EventType.MESSAGE_CREATED, hear)
    yield heard
    unsubscribe(EventType.MESSAGE_CREATED, hear)


def test_a_streamed_answer_to_a_new_conversation_saves_the_question_then_the_answer_and_tells_subscribers(
    docent_server, organization, handbook, chat_key, openai_provider, loopback, created
):
    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.default = Behaviour(first_token_delay=0.1)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    response = ask(docent_server, chat_key, bot)
    assert response.status_code == 200, response.text
    events = sse_events([response.content])
    assert [name for name, _ in events[-2:]] == ["citations", "done"]
    done = events[-1][1]
    rows = list(Message.objects.unscoped().filter(conversation_id=done["conversation_id"]).order_by("seq"))
    assert [(m.role, m.seq, m.status) for m in rows] == [("user", 1, "complete"), ("assistant", 2, "complete")]
    deadline = time.monotonic() + 5
    while len(created) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted((p["role"], p["seq"]) for p in created) == [("assistant", 2), ("user", 1)]


def test_a_question_the_database_cannot_save_gets_a_503_error_event_and_nothing_is_saved(
    docent_server, organization, handbook, chat_key, openai_provider, loopback, monkeypatch
):
    from django.db import OperationalError

    from apps.chatbot.services import answer
    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.default = Behaviour(first_token_delay=0.2)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)

    def down(*rows, **options):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(answer, "insert_rows", down)
    response = ask(docent_server, chat_key, bot)
    assert response.status_code == 503, response.text
    [(name, error)] = sse_events([response.content])  # a stream's client gets the error as its one event
    assert (name, error["code"]) == ("error", "service_unavailable")
    monkeypatch.undo()
    deadline = time.monotonic() + 5
    while not loopback.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(loopback.requests) == 1  # the provider was asked before the question's save failed (ADR 0138)
    time.sleep(0.5)  # its first token (0.2 s) came and went: the stream's thread dropped the answer
    assert not Message.objects.unscoped().filter(conversation__bot=bot).exists()
