"""Rows of several models saved in one round trip (common.core.inserts)."""

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from apps.chatbot.models import Conversation, Message, Participant
from apps.chatbot.tests.factories import ChatbotFactory
from apps.organizations.models import Organization
from common.core.inserts import insert_rows


def _rows(bot, *, content: str = "Hello?") -> tuple[Conversation, Participant, Message]:
    conversation = Conversation(organization_id=bot.organization_id, kind=Conversation.Kind.BOT, bot=bot, title="t")
    participant = Participant(
        organization_id=bot.organization_id, conversation=conversation, kind=Participant.Kind.BOT, bot=bot
    )
    message = Message(
        organization_id=bot.organization_id,
        conversation=conversation,
        role=Message.Role.USER,
        sender_kind="system",
        content=content,
    )
    return conversation, participant, message


@pytest.mark.django_db
def test_a_conversation_its_participant_and_message_are_saved_in_one_statement_with_the_database_numbering():
    bot = ChatbotFactory(organization=Organization.objects.create(name="Acme", slug="acme-inserts"))
    conversation, participant, message = _rows(bot)
    with CaptureQueriesContext(connection) as queries:
        insert_rows(conversation, participant, message, returning=("seq",))
    assert len(queries.captured_queries) == 1
    assert message.seq == 1 and not message._state.adding
    saved = Message.objects.unscoped().get(pk=message.pk)
    assert (saved.seq, saved.content, saved.citations, saved.evidence) == (1, "Hello?", [], {})
    stored = Conversation.objects.unscoped().get(pk=conversation.pk)
    assert stored.last_seq == 1 and stored.last_message_at == saved.created_at
    assert Participant.objects.unscoped().filter(conversation=conversation, bot=bot).exists()


@pytest.mark.django_db(transaction=True)
def test_rows_saved_together_are_saved_all_or_none():
    bot = ChatbotFactory(organization=Organization.objects.create(name="Acme", slug="acme-inserts-2"))
    conversation, participant, message = _rows(bot)
    message.conversation_id = None  # the last row fails: a message needs its conversation
    with pytest.raises(IntegrityError):
        insert_rows(conversation, participant, message, returning=("seq",))
    assert not Conversation.objects.unscoped().filter(pk=conversation.pk).exists()
    assert not Participant.objects.unscoped().filter(conversation_id=conversation.pk).exists()


@pytest.mark.django_db
def test_the_statement_string_of_a_new_conversation_is_parsed_once_and_then_reused():
    from psycopg._queries import _query2pg_client

    bot = ChatbotFactory(organization=Organization.objects.create(name="Acme", slug="acme-inserts-3"))
    insert_rows(*_rows(bot), returning=("seq",))  # more than 50 parameters
    hits = _query2pg_client.cache_info().hits
    conversation, participant, message = _rows(bot, content="And now?")
    insert_rows(conversation, participant, message, returning=("seq",))
    assert _query2pg_client.cache_info().hits == hits + 1
    assert Message.objects.unscoped().get(pk=message.pk).content == "And now?"
