"""Under ASGI the SSE answer streams from a producer thread and still persists the turn."""

import json

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.chatbot.models import Message
from apps.chatbot.tests.conftest import HANDBOOK
from apps.chatbot.tests.factories import ChatbotFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def retrieved(monkeypatch):
    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))


def _post_sse(bot, membership, message):
    token = str(RefreshToken.for_user(membership.user).access_token)

    async def run():
        client = AsyncClient()
        response = await client.post(
            f"/api/v1/bots/{bot.id}/chat",
            data=json.dumps({"message": message}),
            content_type="application/json",
            headers={
                "accept": "text/event-stream",
                "authorization": f"Bearer {token}",
                "x-organization": str(bot.organization_id),
            },
        )
        chunks = [chunk async for chunk in response.streaming_content]
        return response, chunks

    return async_to_sync(run)()


def test_asgi_sse_streams_the_tokens_as_they_come_and_saves_the_answer(
    organization, retrieved, openai_provider, loopback
):
    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.reply = "The office opens at 8 am on weekdays."
    loopback.state.default = Behaviour(token_delay=0.05)
    membership = MembershipFactory(organization=organization, role=Role.MEMBER)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    response, chunks = _post_sse(bot, membership, "When does the office open?")
    assert response.status_code == 200
    assert response.is_async
    assert len(chunks) > 5, "tokens are not buffered into one body"
    assert chunks[0].startswith(b"event: token\n")
    # Events made ready together leave in one chunk; the frames are the same, in order.
    frames = b"".join(chunks).decode().split("\n\n")[:-1]
    names = [frame.split("\n", 1)[0] for frame in frames]
    assert set(names[:-2]) == {"event: token"} and names[-2:] == ["event: citations", "event: done"]
    done = json.loads(frames[-1].split("data: ", 1)[1])
    answer = Message.objects.unscoped().get(pk=done["message_id"])
    assert "8 am" in answer.content


def test_asgi_client_that_disconnects_mid_answer_leaves_an_interrupted_record(
    organization, retrieved, openai_provider, loopback
):
    import time

    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.reply = "one two three four five six seven eight"
    loopback.state.default = Behaviour(token_delay=0.2)
    membership = MembershipFactory(organization=organization, role=Role.MEMBER)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    token = str(RefreshToken.for_user(membership.user).access_token)

    async def run():
        response = await AsyncClient().post(
            f"/api/v1/bots/{bot.id}/chat",
            data=json.dumps({"message": "vacation?"}),
            content_type="application/json",
            headers={
                "accept": "text/event-stream",
                "authorization": f"Bearer {token}",
                "x-organization": str(organization.id),
            },
        )
        stream = response.streaming_content.__aiter__()
        first = await stream.__anext__()
        await stream.aclose()  # the client goes away
        return first

    first = async_to_sync(run)()
    assert first.startswith(b"event: token")
    deadline = time.monotonic() + 10
    answer = None
    while time.monotonic() < deadline:
        answer = Message.objects.unscoped().filter(conversation__bot=bot, role="assistant").first()
        if answer is not None:
            break
        time.sleep(0.1)
    assert answer is not None
    assert answer.status == "interrupted"
    assert answer.content.startswith("one")
    assert "eight" not in answer.content


def test_asgi_sse_searches_before_the_stream_starts_and_records_the_search_with_the_answer(
    organization, openai_provider, loopback, monkeypatch
):
    import threading

    searched_on: list[str] = []

    def retrieve(*, bot, question):
        searched_on.append(threading.current_thread().name)
        return list(HANDBOOK)

    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", retrieve)
    loopback.state.reply = "The office opens at 8 am on weekdays [1]."
    membership = MembershipFactory(organization=organization, role=Role.MEMBER)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    _, chunks = _post_sse(bot, membership, "When does the office open?")
    frames = b"".join(chunks).decode().split("\n\n")[:-1]
    done = json.loads(frames[-1].split("data: ", 1)[1])
    # Once, on the request's thread (which saved the question), not on the stream's.
    assert len(searched_on) == 1 and not searched_on[0].startswith("chat-stream")
    answer = Message.objects.unscoped().get(pk=done["message_id"])
    assert answer.status == "complete" and answer.citations
    assert answer.retrieval_ms is not None and done["latency_ms"]["retrieval"] == answer.retrieval_ms
    assert len(answer.evidence["passages"]) == len(HANDBOOK)
    assert set(answer.evidence["cpu_ms"]) == {"retrieval", "provider"}


def test_asgi_sse_search_that_fails_ends_with_an_error_event_and_a_failed_answer(
    organization, openai_provider, loopback, monkeypatch
):
    def retrieve(*, bot, question):
        raise RuntimeError("the search broke")

    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", retrieve)
    membership = MembershipFactory(organization=organization, role=Role.MEMBER)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    response, chunks = _post_sse(bot, membership, "When does the office open?")
    assert response.status_code == 200
    frames = b"".join(chunks).decode().split("\n\n")[:-1]
    assert [frame.split("\n", 1)[0] for frame in frames] == ["event: error"]
    error = json.loads(frames[0].split("data: ", 1)[1])
    assert error["code"] == "answer_failed"
    answer = Message.objects.unscoped().get(conversation__bot=bot, role="assistant")
    assert answer.status == "failed" and answer.error_code == "answer_failed"
    assert loopback.state.requests == []  # no provider was asked
