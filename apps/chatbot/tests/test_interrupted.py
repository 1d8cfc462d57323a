"""Answers whose web process died mid-stream: the sweep saves them as interrupted, with what had been said."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.chatbot.models import Message
from apps.chatbot.services.answer import chat_turn_start, chat_turn_stream
from apps.chatbot.services.interrupted import chat_turns_interrupt_orphaned
from apps.chatbot.tests.conftest import HANDBOOK
from apps.chatbot.tests.factories import ChatbotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def retrieved(monkeypatch):
    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))


@pytest.fixture
def turn(organization, retrieved, django_capture_on_commit_callbacks):
    bot = ChatbotFactory(organization=organization)
    with django_capture_on_commit_callbacks(execute=True):
        return chat_turn_start(bot=bot, message="How many vacation days do employees get?")


def _later(settings, seconds: int = 1):
    return timezone.now() + timedelta(seconds=settings.CHAT_TURN_ORPHAN_SECONDS + seconds)


def _answers(turn):
    return list(Message.objects.unscoped().filter(conversation=turn.conversation, role="assistant"))


def test_an_answer_whose_server_died_mid_stream_is_saved_as_interrupted_with_what_was_said(turn, settings):
    stream = chat_turn_stream(turn)
    first = next(stream)  # the first token is recorded as soon as it has left (when the pipeline goes on)
    next(stream)  # the process then "dies": nothing else runs

    assert chat_turns_interrupt_orphaned(now=_later(settings)) == 1

    [answer] = _answers(turn)
    assert answer.status == "interrupted" and answer.error_code == "server_stopped"
    assert answer.content == first.text
    assert answer.seq == turn.user_message.seq + 1 and answer.sender_bot_id == turn.bot.pk
    stream.close()  # a process that was only stalled comes back: it does not answer a second time
    assert len(_answers(turn)) == 1


def test_a_turn_still_streaming_or_already_answered_is_left_alone(turn, settings):
    stream = chat_turn_stream(turn)
    next(stream)
    assert chat_turns_interrupt_orphaned(now=timezone.now() + timedelta(seconds=1)) == 0  # it made progress lately
    list(stream)  # it finishes and saves its own answer

    assert chat_turns_interrupt_orphaned(now=_later(settings)) == 0
    assert [answer.status for answer in _answers(turn)] == ["complete"]


def test_a_question_no_turn_ran_for_is_not_answered_by_the_sweep(turn, settings):
    from django.core.cache import cache

    cache.delete(f"chat:turn:{turn.user_message.pk}")  # e.g. a conversation a person took over

    assert chat_turns_interrupt_orphaned(now=_later(settings)) == 0
    assert _answers(turn) == []
