"""The demo bot answers its own suggested questions from the demo documents, and not off-topic ones."""

import pytest
from django.core.management import call_command

from apps.chatbot.demo import DEMO_BOT_NAME
from apps.chatbot.models import Chatbot
from apps.chatbot.services.answer import DoneEvent, chat_turn_start, chat_turn_stream
from apps.documents.models import Document

pytestmark = pytest.mark.django_db


def _ask(bot, question):
    turn = chat_turn_start(bot=bot, message=question)
    return next(e for e in chat_turn_stream(turn) if isinstance(e, DoneEvent)).data["status"]


def test_the_demo_bot_answers_its_suggested_questions_and_not_off_topic_ones(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    bot = Chatbot.objects.unscoped().get(name=DEMO_BOT_NAME)
    assert Document.objects.unscoped().filter(organization=bot.organization, status="ready").exists()
    assert bot.suggested_questions
    for question in bot.suggested_questions:
        assert _ask(bot, question) == "complete", question
    assert _ask(bot, "What do swallows eat?") == "dont_know"
