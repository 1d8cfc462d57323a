"""One conversation model: gapless per-conversation sequence numbers, senders, participants, and the
migration that numbers and attributes what was stored before."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor

from apps.chatbot.models import Conversation, Message, Participant
from apps.chatbot.tests.conftest import HANDBOOK
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory
from apps.users.tests.factories import UserFactory

BEFORE = [("chatbot", "0003_min_relevance_is_a_cosine")]


@pytest.fixture
def retrieved(monkeypatch):
    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))


@pytest.mark.django_db
def test_a_members_turns_are_numbered_and_attributed(member_client, organization, retrieved):
    bot = ChatbotFactory(organization=organization)
    url = f"/api/v1/bots/{bot.id}/chat"
    first = member_client.post(url, {"message": "How many vacation days?"}).json()
    assert (first["user_message_seq"], first["seq"]) == (1, 2)
    second = member_client.post(
        url, {"message": "When does the office open?", "conversation_id": first["conversation_id"]}
    ).json()
    assert (second["user_message_seq"], second["seq"]) == (3, 4)

    conversation = Conversation.objects.unscoped().get(pk=first["conversation_id"])
    assert conversation.kind == "bot" and conversation.last_seq == 4
    assert conversation.last_message_at == Message.objects.unscoped().get(pk=second["message_id"]).created_at
    participants = {
        (p.kind, p.user_id or p.bot_id, p.role)
        for p in Participant.objects.unscoped().filter(conversation=conversation)
    }
    assert participants == {("bot", bot.pk, "member"), ("user", member_client.user.pk, "owner")}

    listed = member_client.get(f"/api/v1/conversations/{conversation.pk}/messages").json()["results"]
    assert [(m["seq"], m["sender"]["kind"], m["role"]) for m in listed] == [
        (1, "user", "user"),
        (2, "bot", "assistant"),
        (3, "user", "user"),
        (4, "bot", "assistant"),
    ]
    assert listed[0]["sender"]["id"] == str(member_client.user.pk)
    assert listed[1]["sender"]["id"] == str(bot.pk)
    exported = member_client.get(f"/api/v1/conversations/{conversation.pk}/export").json()
    assert [(m["seq"], m["sender"]["kind"]) for m in exported["messages"]] == [
        (1, "user"),
        (2, "bot"),
        (3, "user"),
        (4, "bot"),
    ]
    assert exported["conversation"]["kind"] == "bot"


@pytest.mark.django_db
def test_an_api_keys_question_is_attributed_to_the_key(make_api_key_client, organization, retrieved):
    bot = ChatbotFactory(organization=organization)
    client = make_api_key_client(organization, scopes=["chat", "conversations:read"])
    body = client.post(f"/api/v1/bots/{bot.id}/chat", {"message": "How many vacation days?"}, format="json").json()
    question = Message.objects.unscoped().get(pk=body["user_message_id"])
    assert (question.seq, question.sender_kind, question.sender_api_key_id) == (1, "api_key", client.api_key.pk)
    participants = Participant.objects.unscoped().filter(conversation_id=body["conversation_id"])
    assert [(p.kind, p.bot_id) for p in participants] == [("bot", bot.pk)]


@pytest.mark.django_db
def test_a_sequence_number_given_by_the_caller_is_replaced_by_the_next_one(organization):
    conversation = ConversationFactory(bot=ChatbotFactory(organization=organization))
    first = MessageFactory(conversation=conversation, seq=7)
    second = MessageFactory(conversation=conversation, seq=1)
    assert (first.seq, second.seq) == (1, 2)
    assert list(
        Message.objects.unscoped().filter(conversation=conversation).order_by("seq").values_list("seq", flat=True)
    ) == [
        1,
        2,
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_gapless_distinct_numbers(organization):
    conversation = ConversationFactory(bot=ChatbotFactory(organization=organization))
    other = ConversationFactory(bot=conversation.bot)

    def write(index):
        try:
            target = conversation if index % 4 else other
            return MessageFactory(conversation=target, role="user", content=f"message {index}").seq
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(40)))
    for target, count in ((conversation, 30), (other, 10)):
        seqs = sorted(Message.objects.unscoped().filter(conversation=target).values_list("seq", flat=True))
        assert seqs == list(range(1, count + 1))
        target.refresh_from_db()
        assert target.last_seq == count


@pytest.mark.django_db(transaction=True)
def test_the_migration_numbers_and_attributes_stored_messages_and_adds_participants():
    from datetime import timedelta

    from django.utils import timezone

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    organization = old.get_model("organizations", "Organization").objects.create(name="Acme", slug="acme-migrated")
    # Users are created with today's model: the users table may have columns newer than this state knows.
    user = old.get_model("users", "User").objects.get(pk=UserFactory(email="owner@example.com").pk)
    bot = old.get_model("chatbot", "Chatbot").objects.create(organization=organization, name="HR bot")
    Conversation_ = old.get_model("chatbot", "Conversation")
    Message_ = old.get_model("chatbot", "Message")
    web = Conversation_.objects.create(organization=organization, bot=bot, user=user, source="web")
    api = Conversation_.objects.create(organization=organization, bot=bot, source="api")
    widget = Conversation_.objects.create(organization=organization, bot=bot, source="widget")
    start = timezone.now() - timedelta(days=3)
    expected = {}
    for conversation, count in ((web, 5), (api, 2), (widget, 1)):
        rows = []
        for index in range(count):
            role = "user" if index % 2 == 0 else "assistant"
            message = Message_.objects.create(
                organization=organization,
                conversation=conversation,
                role=role,
                content=f"{conversation.source} {index}",
            )
            # Written out of order on purpose: the numbering follows when messages were written.
            Message_.objects.filter(pk=message.pk).update(created_at=start + timedelta(minutes=count - index))
            rows.append((message.pk, role))
        rows.reverse()  # oldest first
        expected[conversation.pk] = rows

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    kinds = {web.pk: "user", api.pk: "api_key", widget.pk: "visitor"}
    for conversation_id, rows in expected.items():
        stored = list(Message.objects.unscoped().filter(conversation_id=conversation_id).order_by("seq"))
        assert [m.pk for m in stored] == [pk for pk, _ in rows]
        assert [m.seq for m in stored] == list(range(1, len(rows) + 1))
        for message, (_, role) in zip(stored, rows, strict=True):
            source = Conversation.objects.unscoped().get(pk=conversation_id).source
            assert message.content.startswith(source)
            if role == "assistant":
                assert (message.sender_kind, message.sender_bot_id) == ("bot", bot.pk)
            else:
                assert message.sender_kind == kinds[conversation_id]
                assert message.sender_user_id == (user.pk if conversation_id == web.pk else None)
        assert Conversation.objects.unscoped().get(pk=conversation_id).last_seq == len(rows)
    participants = sorted((p.conversation_id == web.pk, p.kind, p.role) for p in Participant.objects.unscoped().all())
    assert participants == [
        (False, "bot", "member"),
        (False, "bot", "member"),
        (True, "bot", "member"),
        (True, "user", "owner"),
    ]
    # New messages continue the numbering.
    assert MessageFactory(conversation=Conversation.objects.unscoped().get(pk=web.pk)).seq == 6
