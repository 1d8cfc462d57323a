"""Bots in rooms: a mention in a group, or any message in a direct room with a bot, is answered; the tokens
stream to the room as `bot.token` frames, and the answer is stored as a room message delivered like any
other (its own seq, replying to the question). Bots answer only when asked."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from apps.chat.tests.test_rooms_socket import Socket
from apps.chatbot.models import Conversation, Message
from apps.chatbot.tests.conftest import HANDBOOK
from apps.chatbot.tests.factories import ChatbotFactory
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def retrieved(monkeypatch):
    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def clients(organization, make_member_client):
    return [make_member_client(organization) for _ in range(2)]


@pytest.fixture
def bot(organization):
    return ChatbotFactory(organization=organization, name="Handbook")


async def _post(client, path, body):
    response = await database_sync_to_async(client.post)(path, body, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


async def _answer(
    socket: Socket, *, bot_id: str, question_seq: int, members: list[dict] | None = None
) -> tuple[str, dict]:
    """Read `bot.token` frames until the stored answer arrives; the tokens and the answer frame. The members'
    messages read meanwhile go to `members`: the first tokens may reach a socket before the question does (the
    question is read from the database for it, the tokens are rung as they come)."""
    tokens = []
    while True:
        frame = await socket.frame()
        if frame["type"] == "bot.token":
            assert (frame["bot"], frame["reply_to"]) == (bot_id, question_seq)
            tokens.append(frame["text"])
        elif frame["type"] == "message.new" and frame["message"]["sender"]["kind"] == "bot":
            return "".join(tokens), frame["message"]
        elif frame["type"] == "message.new" and members is not None:
            members.append(frame["message"])


async def test_a_bot_mentioned_in_a_group_streams_its_answer_and_stores_it(organization, bot, clients):
    alice_client, bob_client = clients
    room = (
        await _post(
            alice_client, "/api/v1/rooms", {"kind": "group", "title": "HR", "user_ids": [str(bob_client.user.pk)]}
        )
    )["id"]
    added = await _post(alice_client, f"/api/v1/rooms/{room}/members", {"bot_ids": [str(bot.pk)]})
    assert added["bots_added"] == [str(bot.pk)]
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()

    await alice.send(type="send", conversation=room, text="lunch at noon?", client_msg_id="q0")
    await alice.send(
        type="send",
        conversation=room,
        text="@Handbook when does the office open?",
        client_msg_id="q1",
        mentions=[str(bot.pk)],
    )
    first = await bob.frame()
    assert (first["message"]["seq"], first["message"]["text"]) == (1, "lunch at noon?")
    questions: list[dict] = []
    streamed, answer = await _answer(bob, bot_id=str(bot.pk), question_seq=2, members=questions)
    assert [(q["seq"], q["mentions"]) for q in questions] == [(2, [{"kind": "bot", "id": str(bot.pk)}])]
    assert answer["seq"] == 3 and answer["reply_to"] == 2
    assert answer["sender"] == {"kind": "bot", "id": str(bot.pk)}
    assert "8 am" in answer["text"]
    assert streamed.strip() == answer["text"]

    stored = await database_sync_to_async(
        lambda: list(
            Message.objects.unscoped()
            .filter(conversation_id=room)
            .order_by("seq")
            .values_list("sender_kind", flat=True)
        )
    )()
    assert stored == ["user", "user", "bot"]  # the unmentioned message got no answer
    # stored once, in the room: no bot conversation besides it
    turns = await database_sync_to_async(
        lambda: Conversation.objects.for_org(organization).filter(kind="bot").count()
    )()
    assert turns == 0
    listed = await database_sync_to_async(alice_client.get)("/api/v1/conversations")
    assert listed.json()["results"] == []
    await alice.close()
    await bob.close()


async def test_a_direct_room_with_a_bot_answers_every_message(bot, clients):
    alice_client = clients[0]
    room = await _post(alice_client, "/api/v1/rooms", {"kind": "direct", "bot_id": str(bot.pk)})
    assert {(p["kind"], p["id"]) for p in room["participants"]} == {
        ("user", str(alice_client.user.pk)),
        ("bot", str(bot.pk)),
    }
    again = await _post(alice_client, "/api/v1/rooms", {"kind": "direct", "bot_id": str(bot.pk)})
    assert again["id"] == room["id"]
    alice = await Socket(alice_client).open()
    await alice.send(type="send", conversation=room["id"], text="How many vacation days?", client_msg_id="v1")
    assert (await alice.frame())["type"] == "ack"
    questions: list[dict] = []
    _, answer = await _answer(alice, bot_id=str(bot.pk), question_seq=1, members=questions)
    assert [q["seq"] for q in questions] == [1]
    assert "25 days" in answer["text"] and answer["seq"] == 2
    await alice.close()


async def test_a_bot_of_another_organization_cannot_be_added_or_talked_to(clients):
    foreign_bot = await database_sync_to_async(lambda: ChatbotFactory(organization=OrganizationFactory()))()
    alice_client = clients[0]
    response = await database_sync_to_async(alice_client.post)(
        "/api/v1/rooms", {"kind": "direct", "bot_id": str(foreign_bot.pk)}, format="json"
    )
    assert response.status_code == 400 and "bot_id" in response.json()["error"]["details"]


async def test_every_ring_of_a_bot_answer_is_sent_on_the_servers_event_loop(bot, clients, monkeypatch):
    """The in-memory channel layer (the embedded default) is not thread-safe: the stored answer's doorbell sent
    from a stream thread's own event loop could leave the hub asleep with the ring in its queue, and the answer
    would reach nobody until the next ring. Every ring of a bot's answer goes through the server's loop."""
    layer = get_channel_layer()
    loop = asyncio.get_running_loop()
    rings: list[tuple[str, bool]] = []
    group_send = layer.group_send

    async def recorded(group, message):
        rings.append((message["type"], asyncio.get_running_loop() is loop))
        await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", recorded)
    alice_client = clients[0]
    room = await _post(alice_client, "/api/v1/rooms", {"kind": "direct", "bot_id": str(bot.pk)})
    alice = await Socket(alice_client).open()
    await alice.send(type="send", conversation=room["id"], text="How many vacation days?", client_msg_id="v1")
    _, answer = await _answer(alice, bot_id=str(bot.pk), question_seq=1)
    assert answer["seq"] == 2
    await alice.close()
    assert [kind for kind, _ in rings].count("room.message") == 2  # the question's and the stored answer's
    assert "room.bot_token" in [kind for kind, _ in rings]
    assert all(on_loop for _, on_loop in rings), rings


async def test_a_bots_answer_in_a_room_carries_its_sources_for_the_markers(bot, clients):
    alice_client = clients[0]
    room = await _post(alice_client, "/api/v1/rooms", {"kind": "direct", "bot_id": str(bot.pk)})
    alice = await Socket(alice_client).open()
    await alice.send(type="send", conversation=room["id"], text="How many vacation days?", client_msg_id="v1")
    _, answer = await _answer(alice, bot_id=str(bot.pk), question_seq=1)
    await alice.close()
    assert "[1]" in answer["text"]
    first = answer["citations"][0]
    assert (first["marker"], first["document_title"]) == (1, HANDBOOK[0].document_title)
    assert set(first) == {"marker", "document_id", "document_title", "page", "heading", "snippet"}
    history = await database_sync_to_async(alice_client.get)(f"/api/v1/rooms/{room['id']}/messages")
    stored = history.json()["messages"]
    assert [m["citations"] for m in stored] == [[], answer["citations"]]  # the question has none
