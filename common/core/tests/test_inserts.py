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


@pytest.mark.django_db
def test_values_read_as_they_are_are_the_values_the_orm_would_save():
    from datetime import datetime

    from common.core.inserts import _insert_sql, _values

    def seen(values):  # a timestamp set by pre_save differs between two calls: its type is compared
        return [(type(v), None if isinstance(v, datetime) else getattr(v, "obj", v)) for v in values]

    bot = ChatbotFactory(organization=Organization.objects.create(name="Acme", slug="acme-prepared"))
    conversation, participant, message = _rows(bot)
    message.prompt_tokens, message.retrieval_ms, message.citations = 12, None, [{"chunk_id": "x"}]
    message.status = Message.Status.DONT_KNOW  # a str enum member
    message.error_code = "timeout"
    for instance in (conversation, participant, message):
        _, fields, preparers = _insert_sql(type(instance))
        assert any(preparer is not None for preparer in preparers)
        expected = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
        assert seen(_values(instance, fields, preparers, connection)) == seen(expected)


@pytest.mark.django_db
def test_timestamps_are_saved_as_the_orm_saves_them():
    import warnings
    from datetime import UTC, datetime

    from django.utils import timezone

    from common.core.inserts import _insert_sql, _values

    bot = ChatbotFactory(organization=Organization.objects.create(name="Acme", slug="acme-stamped"))
    conversation, participant, message = _rows(bot)
    joined = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    participant.joined_at, message.edited_at = joined, None
    conversation.last_message_at = datetime(2026, 1, 2, 3, 4, 5)  # naive: the field makes it aware, with a warning
    before = timezone.now()
    prepared = {}
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        for instance in (conversation, participant, message):
            _, fields, preparers = _insert_sql(type(instance))
            values = _values(instance, fields, preparers, connection)
            prepared[type(instance)] = {f.attname: v for f, v in zip(fields, values, strict=True)}
        insert_rows(conversation, participant, message, returning=("seq",))
    assert [str(w.message) for w in warned if "naive datetime" in str(w.message)]
    assert prepared[Conversation]["last_message_at"].utcoffset() is not None
    assert prepared[Participant]["joined_at"] is joined
    assert prepared[Message]["edited_at"] is None
    for instance in (conversation, participant, message):  # stamped now; the instance holds what was saved (below)
        for name in ("created_at", "updated_at"):
            stamped = prepared[type(instance)][name]
            assert before <= stamped <= timezone.now()
    assert participant.joined_at is joined and message.edited_at is None
    saved = Message.objects.unscoped().get(pk=message.pk)
    assert (saved.created_at, saved.updated_at, saved.edited_at) == (message.created_at, message.updated_at, None)
    assert Participant.objects.unscoped().get(pk=participant.pk).joined_at == joined


def test_only_django_s_own_plain_fields_are_read_as_they_are():
    import uuid
    from datetime import datetime

    from django.db import models

    from common.core.inserts import _preparer, _StampedNow

    class Custom(models.TextField):
        pass

    def kind(field):
        found = _preparer(field, connection)
        return None if found is None else found[0]

    assert kind(models.CharField(max_length=3)) is str
    assert kind(models.PositiveIntegerField()) is int
    assert kind(models.UUIDField()) is uuid.UUID
    assert kind(models.JSONField()) is None
    assert kind(models.DateTimeField()) is datetime
    assert kind(models.DateTimeField(auto_now=True)) is kind(models.DateTimeField(auto_now_add=True)) is _StampedNow
    assert kind(models.DateField()) is None
    assert kind(type("CustomDateTime", (models.DateTimeField,), {})()) is None
    assert kind(Custom()) is None
    assert kind(Message._meta.get_field("conversation")) is uuid.UUID
