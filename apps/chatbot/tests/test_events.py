"""The transport-neutral event stream (events_async) and the encoders each transport uses."""

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from apps.chatbot.encoders import answer_collect, sse_encode, websocket_frame
from apps.chatbot.models import Message
from apps.chatbot.services.answer import CitationsEvent, DoneEvent, ErrorEvent, TokenEvent, chat_turn_start
from apps.chatbot.streaming import events_async, stream_handover
from apps.chatbot.tests.conftest import HANDBOOK
from apps.chatbot.tests.factories import ChatbotFactory

DONE = DoneEvent({"conversation_id": "c1", "message_id": "m1", "status": "complete"})
ERROR = ErrorEvent("provider_timeout", "The provider did not answer in time.", 504, {"message_id": "m2"})


@pytest.fixture
def retrieved(monkeypatch):
    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))


def test_websocket_frames_carry_a_type_the_event_data_and_the_routing_context():
    citation = {"marker": 1, "document_title": "Employee handbook"}
    frames = [
        websocket_frame(event, conversation_id="c1")
        for event in (TokenEvent("25 days"), CitationsEvent([citation]), DONE, ERROR)
    ]
    assert frames == [
        {"type": "chat.token", "conversation_id": "c1", "text": "25 days"},
        {"type": "chat.citations", "conversation_id": "c1", "citations": [citation]},
        {"type": "chat.done", "conversation_id": "c1", "message_id": "m1", "status": "complete"},
        {
            "type": "chat.error",
            "conversation_id": "c1",
            "code": "provider_timeout",
            "message": "The provider did not answer in time.",
            "message_id": "m2",
        },
    ]
    assert json.loads(json.dumps(frames)) == frames  # plain JSON for send_json


def test_the_event_type_cannot_be_overridden_by_the_context():
    assert websocket_frame(TokenEvent("x"), type="spoofed")["type"] == "chat.token"


def test_sse_frames_name_the_event_and_carry_its_json():
    assert sse_encode(TokenEvent("Zwölf")) == 'event: token\ndata: {"text":"Zwölf"}\n\n'.encode()
    assert sse_encode(ERROR).startswith(b'event: error\ndata: {"code":"provider_timeout"')


def test_collected_events_make_one_answer_or_the_error():
    done = answer_collect([TokenEvent("25 "), TokenEvent("days [1]. "), CitationsEvent([{"marker": 1}]), DONE])
    assert done.status_code == 200
    assert done.body["answer"] == "25 days [1]."
    assert done.body["citations"] == [{"marker": 1}] and done.body["message_id"] == "m1"
    failed = answer_collect([TokenEvent("25"), ERROR])
    assert failed.status_code == 504
    assert failed.body["error"]["code"] == "provider_timeout"
    assert failed.body["error"]["details"] == {"message_id": "m2"}
    assert answer_collect([TokenEvent("cut")]).status_code == 502


@pytest.mark.django_db(transaction=True)
def test_events_async_yields_the_pipelines_typed_events_and_saves_the_answer(organization, retrieved):
    turn = chat_turn_start(bot=ChatbotFactory(organization=organization), message="When does the office open?")

    async def consume():
        return [event async for event in events_async(turn)]

    events = async_to_sync(consume)()
    assert {type(e) for e in events[:-2]} == {TokenEvent}
    assert [type(e) for e in events[-2:]] == [CitationsEvent, DoneEvent]
    answer = Message.objects.unscoped().get(pk=events[-1].data["message_id"])
    assert answer.content == "".join(e.text for e in events[:-2]).strip()
    assert "8 am" in answer.content


@pytest.mark.django_db(transaction=True)
def test_closing_events_async_mid_answer_leaves_an_interrupted_record(
    organization, retrieved, openai_provider, loopback
):
    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.reply = "one two three four five six seven eight"
    loopback.state.default = Behaviour(token_delay=0.2)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    turn = chat_turn_start(bot=bot, message="vacation?")

    async def first_then_leave():
        events = events_async(turn)
        first = await events.__anext__()
        await events.aclose()
        return first

    assert isinstance(async_to_sync(first_then_leave)(), TokenEvent)
    deadline = time.monotonic() + 10
    answer = None
    while answer is None and time.monotonic() < deadline:
        answer = Message.objects.unscoped().filter(conversation=turn.conversation, role="assistant").first()
        time.sleep(0.1)
    assert answer is not None
    assert answer.status == "interrupted"
    assert answer.content.startswith("one") and "eight" not in answer.content


@pytest.mark.django_db(transaction=True)
def test_a_turn_handed_over_by_a_view_asks_the_provider_before_its_response_is_read(
    organization, retrieved, openai_provider, loopback
):
    """Under ASGI the view's thread starts the stream's producer at the handover: the provider is already asked while
    the event loop is still taking the response, and the events are then read from that same producer."""
    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.default = Behaviour(first_token_delay=0.3)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    turn = chat_turn_start(bot=bot, message="When does the office open?")

    async def hand_over_then_read():
        await sync_to_async(stream_handover, thread_sensitive=False)(turn)  # a thread that knows this loop
        production = turn.production
        deadline = time.monotonic() + 5
        while not loopback.requests and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        asked_before_reading = bool(loopback.requests)
        events = [event async for event in events_async(turn)]
        return production, asked_before_reading, events

    production, asked_before_reading, events = async_to_sync(hand_over_then_read)()
    assert production is not None and turn.production is production  # the events came from the producer it started
    assert asked_before_reading
    assert len(loopback.requests) == 1  # asked once, not again when the events were read
    assert [type(e) for e in events[-2:]] == [CitationsEvent, DoneEvent]
    assert Message.objects.unscoped().get(pk=events[-1].data["message_id"]).status == "complete"


@pytest.mark.django_db(transaction=True)
def test_a_turn_handed_over_outside_an_event_loop_starts_its_producer_when_read(organization, retrieved):
    turn = chat_turn_start(bot=ChatbotFactory(organization=organization), message="When does the office open?")
    stream_handover(turn)  # a plain thread (WSGI, a shell): nothing to hand the events to yet
    assert turn.production is None

    async def consume():
        return [event async for event in events_async(turn)]

    events = async_to_sync(consume)()
    assert turn.production is not None  # started by the reading
    assert [type(e) for e in events[-2:]] == [CitationsEvent, DoneEvent]
    assert "8 am" in Message.objects.unscoped().get(pk=events[-1].data["message_id"]).content


@pytest.mark.django_db(transaction=True)
def test_a_streamed_answers_event_is_delivered_after_the_view_that_held_its_questions_events_returned(
    organization, retrieved, openai_provider, loopback
):
    """The view holds its question's events until it returns (ADR 0137); the answer, saved later by the stream's
    thread, is still delivered to the subscribers (the thread does not inherit the view's held deliveries)."""
    from apps.chatbot_provider.tests.loopback import Behaviour
    from common.events import EventType, deliveries_held, subscribe, unsubscribe

    loopback.state.default = Behaviour(first_token_delay=0.2)
    heard: list[str] = []

    def hear(event):
        heard.append(event.payload["role"])

    subscribe(EventType.MESSAGE_CREATED, hear)
    try:
        bot = ChatbotFactory(organization=organization, provider=openai_provider)

        def view():
            with deliveries_held():
                turn = chat_turn_start(bot=bot, message="When does the office open?")
                stream_handover(turn)
            return turn

        async def serve_then_read():
            turn = await sync_to_async(view, thread_sensitive=False)()
            return [event async for event in events_async(turn)]

        events = async_to_sync(serve_then_read)()
        assert [type(e) for e in events[-2:]] == [CitationsEvent, DoneEvent]
        deadline = time.monotonic() + 5
        while len(heard) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(heard) == 2, heard  # the question's, then the answer's
    finally:
        unsubscribe(EventType.MESSAGE_CREATED, hear)
