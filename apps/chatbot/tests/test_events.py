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


def _insert_once_asked(monkeypatch, loopback, seen: list[bool]):
    """The question's insert waits (up to 5 s) for the provider to have been asked, and records whether it was."""
    from apps.chatbot.services import answer

    insert_rows = answer.insert_rows

    def insert(*rows, **options):
        if isinstance(rows[-1], Message) and rows[-1].role == Message.Role.USER:
            deadline = time.monotonic() + 5
            while not loopback.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.append(bool(loopback.requests))
        return insert_rows(*rows, **options)

    monkeypatch.setattr(answer, "insert_rows", insert)


@pytest.mark.django_db(transaction=True)
def test_a_new_conversations_question_is_saved_while_the_provider_is_asked(
    organization, retrieved, openai_provider, loopback, monkeypatch
):
    """ADR 0138: under ASGI a new conversation's question is saved by the view's thread after the stream's thread
    has asked the provider, not before; nothing of the answer is sent or saved before the question is."""
    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.default = Behaviour(first_token_delay=0.2)
    asked_first: list[bool] = []
    _insert_once_asked(monkeypatch, loopback, asked_first)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    turn = chat_turn_start(bot=bot, message="When does the office open?", save_question_later=True)
    assert not Message.objects.unscoped().filter(pk=turn.user_message.pk).exists()  # not yet

    def view() -> bool:
        from django.db import connection

        stream_handover(turn)
        try:
            return Message.objects.unscoped().filter(pk=turn.user_message.pk).exists()
        finally:
            connection.close()

    async def hand_over_then_read():
        saved_by_handover = await sync_to_async(view, thread_sensitive=False)()
        return saved_by_handover, [event async for event in events_async(turn)]

    saved_by_handover, events = async_to_sync(hand_over_then_read)()
    assert asked_first == [True]
    assert saved_by_handover  # the view's thread saved it before handing the response over
    assert [type(e) for e in events[-2:]] == [CitationsEvent, DoneEvent]
    question = Message.objects.unscoped().get(pk=turn.user_message.pk)
    answer = Message.objects.unscoped().get(pk=events[-1].data["message_id"])
    assert (question.seq, answer.seq) == (1, 2)
    assert events[-1].data["user_message_seq"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_question_left_for_later_is_saved_before_an_instant_answer(organization, retrieved):
    """With a provider that answers at once (the offline one) the stream's thread gets to the first token first:
    it saves the question itself, then the answer, in that order."""
    bot = ChatbotFactory(organization=organization)
    turn = chat_turn_start(bot=bot, message="When does the office open?", save_question_later=True)

    async def consume():
        return [event async for event in events_async(turn)]

    events = async_to_sync(consume)()
    assert [type(e) for e in events[-2:]] == [CitationsEvent, DoneEvent]
    rows = list(Message.objects.unscoped().filter(conversation=turn.conversation).order_by("seq"))
    assert [(m.role, m.seq) for m in rows] == [("user", 1), ("assistant", 2)]


@pytest.mark.django_db(transaction=True)
def test_a_question_that_cannot_be_saved_fails_the_handover_and_nothing_of_the_answer_is_saved(
    organization, retrieved, openai_provider, loopback, monkeypatch
):
    from django.db import OperationalError

    from apps.chatbot.services import answer
    from apps.chatbot_provider.tests.loopback import Behaviour

    loopback.state.default = Behaviour(first_token_delay=0.2)
    bot = ChatbotFactory(organization=organization, provider=openai_provider)
    turn = chat_turn_start(bot=bot, message="When does the office open?", save_question_later=True)

    def down(*rows, **options):
        raise OperationalError("the database went away")

    monkeypatch.setattr(answer, "insert_rows", down)

    async def hand_over():
        with pytest.raises(OperationalError):
            await sync_to_async(stream_handover, thread_sensitive=False)(turn)
        return await asyncio.wrap_future(turn.production.future)  # the producer ends on its own

    async_to_sync(hand_over)()
    assert turn.production.gone.is_set()
    assert len(loopback.requests) == 1  # asked once; the answer is dropped
    assert not Message.objects.unscoped().filter(conversation_id=turn.conversation.pk).exists()
    assert [type(e) for e in turn.production.pending if e is not None] in ([], [ErrorEvent])
