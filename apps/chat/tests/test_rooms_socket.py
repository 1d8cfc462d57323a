"""Rooms over the one WebSocket: sending (idempotent), delivery in seq order from the database whatever the
doorbell does, resume, edits and deletions, read receipts, typing, membership changes and presence."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator

from apps.chat import hub
from apps.chatbot.models import Message
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from config.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = [(b"origin", b"http://localhost")]


class Socket:
    """A member's WebSocket, skipping presence news unless a test asks for it."""

    def __init__(self, client) -> None:
        self.client = client
        self.user_id = str(client.user.pk)

    async def open(self, *, batch: bool = False) -> Socket:
        response = await database_sync_to_async(self.client.post)("/api/v1/realtime/tickets")
        self.communicator = WebsocketCommunicator(
            application, f"/ws/?{'batch=1&' if batch else ''}ticket={response.json()['ticket']}", headers=ORIGIN
        )
        connected, _ = await self.communicator.connect(timeout=5)
        assert connected
        self.hello = await self.frame()
        assert self.hello["type"] == "hello"
        return self

    async def frame(self, *, presence: bool = False) -> dict:
        while True:
            frame = json.loads(await self.communicator.receive_from(timeout=5))
            if presence or frame["type"] != "presence":
                return frame

    async def send(self, **frame) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def nothing_more(self) -> None:
        """Nothing else was queued for this socket: a ping is answered next."""
        await self.send(type="ping", ref="barrier")
        assert await self.frame() == {"type": "pong", "ref": "barrier"}

    async def close(self) -> None:
        await self.communicator.disconnect()


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def clients(organization, make_member_client):
    return [make_member_client(organization) for _ in range(3)]


def _member_of_another_organization():
    from rest_framework.test import APIClient

    elsewhere = OrganizationFactory()
    outsider = MembershipFactory(organization=elsewhere)
    client = APIClient()
    client.force_authenticate(outsider.user)
    client.credentials(HTTP_X_ORGANIZATION=str(elsewhere.pk))
    client.user = outsider.user
    return client


async def _group(owner, *others) -> str:
    response = await database_sync_to_async(owner.post)(
        "/api/v1/rooms",
        {"kind": "group", "title": "Launch", "user_ids": [str(o.user.pk) for o in others]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _dropping(monkeypatch, kind: str):
    """From now on the channel layer drops every ring of this `kind` (the doorbell is silent for it); returns the
    real `group_send`, to ring by hand or to put back. For room messages the process's own hub is no longer rung
    directly either, for the rest of the test: the test's sockets stand for another process's, which hear of a
    message through the channel layer only."""
    layer = get_channel_layer()
    real_group_send = layer.group_send

    async def dropping_group_send(group, message):
        if message["type"] != kind:
            await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", dropping_group_send)
    if kind == "room.message":
        monkeypatch.setattr(hub, "ring_from_thread", lambda conversation, seq: None)
    return real_group_send


async def _stored(room: str) -> list[tuple[int, str]]:
    return await database_sync_to_async(
        lambda: list(
            Message.objects.unscoped().filter(conversation_id=room).order_by("seq").values_list("seq", "content")
        )
    )()


async def test_a_message_sent_by_one_member_reaches_the_other_in_order(clients):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    assert alice.hello["conversations"] == {room: 0}

    for n in (1, 2, 3):
        await alice.send(type="send", ref=n, conversation=room, text=f"hello {n}", client_msg_id=f"c{n}")
        ack = await alice.frame()
        assert (ack["type"], ack["ref"], ack["duplicate"], ack["message"]["seq"]) == ("ack", n, False, n)
        echoed = await alice.frame()
        assert (echoed["type"], echoed["message"]["seq"]) == ("message.new", n)

    received = [await bob.frame() for _ in range(3)]
    assert [(f["type"], f["message"]["seq"], f["message"]["text"]) for f in received] == [
        ("message.new", 1, "hello 1"),
        ("message.new", 2, "hello 2"),
        ("message.new", 3, "hello 3"),
    ]
    assert received[0]["message"]["sender"] == {"kind": "user", "id": alice.user_id}
    await bob.nothing_more()
    await alice.close()
    await bob.close()


async def test_a_resend_with_the_same_client_msg_id_is_one_message(clients):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    await alice.send(type="send", ref=1, conversation=room, text="once", client_msg_id="same")
    first = await alice.frame()
    assert (await alice.frame())["type"] == "message.new"
    await alice.send(type="send", ref=2, conversation=room, text="once", client_msg_id="same")
    again = await alice.frame()
    assert again["duplicate"] is True and again["message"]["id"] == first["message"]["id"]
    await alice.nothing_more()  # no second message.new either
    assert (await bob.frame())["message"]["seq"] == 1
    await bob.nothing_more()
    assert await _stored(room) == [(1, "once")]
    await alice.close()
    await bob.close()


async def test_lost_doorbells_are_filled_in_by_resume_without_duplicates(clients, monkeypatch):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    layer = get_channel_layer()
    real_group_send = _dropping(monkeypatch, "room.message")
    for n in (1, 2):
        await alice.send(type="send", ref=n, conversation=room, text=f"lost {n}", client_msg_id=f"c{n}")
        assert (await alice.frame())["type"] == "ack"
        assert (await alice.frame())["type"] == "message.new"  # the sender's own socket reads the database
    await bob.nothing_more()  # the doorbell never rang for bob

    await bob.send(type="resume", ref="r", conversations={room: 0})
    filled = [await bob.frame() for _ in range(2)]
    assert [(f["type"], f["message"]["seq"]) for f in filled] == [("message.new", 1), ("message.new", 2)]
    assert await bob.frame() == {"type": "resumed", "ref": "r", "conversations": {room: 2}}

    monkeypatch.setattr(layer, "group_send", real_group_send)
    await alice.send(type="send", ref=3, conversation=room, text="rung", client_msg_id="c3")
    assert [(await bob.frame())["message"]["seq"]] == [3]  # 1 and 2 are not sent again
    await bob.nothing_more()
    await alice.close()
    await bob.close()


async def test_an_open_socket_gets_the_messages_whose_doorbell_was_lost_without_reconnecting(
    clients, monkeypatch, settings
):
    """The channel layer may stay silent (channels_redis over a group's capacity, a Redis blip) and a quiet room
    has no next ring: the server process checks its rooms' last seq every REALTIME_CATCH_UP_SECONDS."""
    settings.REALTIME_CATCH_UP_SECONDS = 0.2
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    bob = await Socket(bob_client).open()
    _dropping(monkeypatch, "room.message")
    for text in ("one", "two"):
        sent = await database_sync_to_async(alice_client.post)(
            f"/api/v1/rooms/{room}/messages", {"text": text}, format="json"
        )
        assert sent.status_code == 201, sent.content
    caught_up = [await bob.frame() for _ in range(2)]
    assert [(f["type"], f["message"]["seq"], f["message"]["text"]) for f in caught_up] == [
        ("message.new", 1, "one"),
        ("message.new", 2, "two"),
    ]
    await bob.nothing_more()  # delivered once, though the check keeps running
    await bob.close()


async def test_a_message_stored_in_this_process_reaches_its_sockets_without_the_channel_layers_ring(
    clients, monkeypatch
):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    bob = await Socket(bob_client).open()
    layer = get_channel_layer()
    real_group_send = layer.group_send

    async def dropping_group_send(group, message):  # the ring through the channel layer never comes back
        if message["type"] != "room.message":
            await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", dropping_group_send)
    for text in ("one", "two"):
        await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": text}, format="json")
        assert (await bob.frame())["message"]["text"] == text
    await bob.nothing_more()
    await bob.close()


async def test_a_ring_that_arrives_late_or_twice_delivers_each_message_once(clients):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    bob = await Socket(bob_client).open()
    await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": "one"}, format="json")
    await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": "two"}, format="json")
    layer = get_channel_layer()
    for _ in range(2):  # stale and repeated rings
        await layer.group_send(f"room.{room}", {"type": "room.message", "conversation": room, "seq": 1})
    seen = [(await bob.frame())["message"]["seq"] for _ in range(2)]
    assert seen == [1, 2]
    await bob.nothing_more()
    await bob.close()


async def test_a_client_that_takes_batches_gets_the_messages_it_lacks_in_one_frame_in_order(clients, monkeypatch):
    alice_client, bob_client, carol_client = clients
    room = await _group(alice_client, bob_client, carol_client)
    bob, carol = await Socket(bob_client).open(batch=True), await Socket(carol_client).open()
    layer = get_channel_layer()
    real_group_send = _dropping(monkeypatch, "room.message")
    for text in ("one", "two", "three"):  # stored while the doorbell is silent: nobody is sent anything yet
        await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": text}, format="json")
    await bob.nothing_more()
    monkeypatch.setattr(layer, "group_send", real_group_send)
    await layer.group_send(f"room.{room}", {"type": "room.message", "conversation": room, "seq": 3})

    batch = await bob.frame()
    assert (batch["type"], batch["conversation"]) == ("messages.new", room)
    assert [(m["seq"], m["text"]) for m in batch["messages"]] == [(1, "one"), (2, "two"), (3, "three")]
    assert batch["messages"][0]["sender"] == {"kind": "user", "id": str(alice_client.user.pk)}
    singles = [await carol.frame() for _ in range(3)]  # a client that did not ask: one frame per message
    assert [(f["type"], f["message"]["seq"]) for f in singles] == [("message.new", s) for s in (1, 2, 3)]

    await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": "four"}, format="json")
    alone = await bob.frame()  # one message at a time comes as `message.new`, never sent twice
    assert (alone["type"], alone["message"]["seq"]) == ("message.new", 4)
    await bob.nothing_more()
    await bob.send(type="resume", ref="r", conversations={room: 0})  # the record is PostgreSQL's, as for anyone
    assert [(await bob.frame())["message"]["seq"] for _ in range(4)] == [1, 2, 3, 4]
    assert await bob.frame() == {"type": "resumed", "ref": "r", "conversations": {room: 4}}
    await bob.close()
    await carol.close()


async def test_a_reconnecting_client_resumes_from_its_own_numbers(clients):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    bob = await Socket(bob_client).open()
    await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": "one"}, format="json")
    assert (await bob.frame())["message"]["seq"] == 1
    await bob.close()
    for text in ("two", "three"):
        await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": text}, format="json")
    bob = await Socket(bob_client).open()
    assert bob.hello["conversations"] == {room: 3}
    await bob.send(type="resume", conversations={room: 1})
    assert [(await bob.frame())["message"]["text"] for _ in range(2)] == ["two", "three"]
    assert (await bob.frame())["type"] == "resumed"
    await bob.close()


async def test_foreign_unknown_and_left_conversations_get_error_frames_on_a_usable_connection(clients):
    alice_client, bob_client, carol_client = clients
    room = await _group(alice_client, bob_client)
    foreign_room = await _group(await database_sync_to_async(_member_of_another_organization)())

    carol = await Socket(carol_client).open()
    for target in (room, foreign_room, str(uuid.uuid4())):
        await carol.send(type="send", ref="x", conversation=target, text="let me in", client_msg_id="c")
        error = await carol.frame()
        assert (error["type"], error["code"], error["conversation"]) == ("error", "not_found", target)
    await carol.send(type="resume", ref="r", conversations={foreign_room: 0})
    assert (await carol.frame())["code"] == "not_found"
    assert await carol.frame() == {"type": "resumed", "ref": "r", "conversations": {}}
    await carol.send(type="send", ref="bad", conversation="not-an-id", text="x")
    assert (await carol.frame())["code"] == "bad_frame"
    await carol.nothing_more()
    assert await _stored(room) == [] and await _stored(foreign_room) == []

    bob = await Socket(bob_client).open()
    await database_sync_to_async(bob_client.post)(f"/api/v1/rooms/{room}/leave")
    assert await bob.frame() == {"type": "conversation.left", "conversation": room}
    await bob.send(type="send", ref="y", conversation=room, text="still here?")
    assert (await bob.frame())["code"] == "not_found"
    await carol.close()
    await bob.close()


async def test_a_too_long_message_is_refused_and_nothing_is_stored(clients, settings):
    settings.ROOM_MESSAGE_MAX_CHARS = 5
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice = await Socket(alice_client).open()
    await alice.send(type="send", ref=1, conversation=room, text="too long", client_msg_id="c")
    error = await alice.frame()
    assert (error["code"], list(error["details"])) == ("validation_error", ["text"])
    assert await _stored(room) == []
    await alice.close()


async def test_edits_and_deletions_reach_the_room_and_only_the_author_may_make_them(clients):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    await alice.send(type="send", conversation=room, text="helo", client_msg_id="c1")
    message_id = (await alice.frame())["message"]["id"]
    await alice.frame()
    assert (await bob.frame())["type"] == "message.new"

    await bob.send(type="edit", ref="b", conversation=room, message=message_id, text="mine now")
    assert (await bob.frame())["code"] == "permission_denied"

    await alice.send(type="edit", ref="e", conversation=room, message=message_id, text="hello")
    assert (await alice.frame())["type"] == "ack"
    assert (await alice.frame())["type"] == "message.edited"  # the author's sockets hear it too
    edited = await bob.frame()
    assert edited["type"] == "message.edited"
    assert (edited["message"]["text"], edited["message"]["seq"]) == ("hello", 1)
    assert edited["message"]["edited_at"] is not None

    await alice.send(type="delete", ref="d", conversation=room, message=message_id)
    assert (await alice.frame())["type"] == "ack"
    deleted = await bob.frame()
    assert deleted["type"] == "message.deleted"
    assert (deleted["message"]["text"], deleted["message"]["deleted"], deleted["message"]["seq"]) == (None, True, 1)
    history = await database_sync_to_async(bob_client.get)(f"/api/v1/rooms/{room}/messages")
    assert [(m["seq"], m["text"], m["deleted"]) for m in history.json()["messages"]] == [(1, None, True)]
    await alice.close()
    await bob.close()


async def test_a_client_back_from_a_disconnection_learns_of_the_edits_and_deletions_it_missed(clients):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice = await Socket(alice_client).open()
    ids = []
    for n in (1, 2, 3):
        await alice.send(type="send", ref=n, conversation=room, text=f"draft {n}", client_msg_id=f"c{n}")
        ids.append((await alice.frame())["message"]["id"])
        assert (await alice.frame())["type"] == "message.new"
    bob = await Socket(bob_client).open()
    assert bob.hello["revisions"] == {room: 0}
    await bob.close()  # bob has 1..3 as first written

    await alice.send(type="edit", ref="e", conversation=room, message=ids[0], text="final 1")
    await alice.send(type="delete", ref="d", conversation=room, message=ids[1])
    await alice.send(type="edit", ref="e2", conversation=room, message=ids[0], text="final 1, really")
    assert [(await alice.frame())["type"] for _ in range(6)].count("ack") == 3

    bob = await Socket(bob_client).open()
    assert bob.hello["revisions"] == {room: 3}
    await bob.send(type="resume", ref="r", conversations={room: 3}, revisions={room: 0})
    missed = [await bob.frame() for _ in range(2)]
    assert [(f["type"], f["message"]["seq"], f["message"]["text"], f["message"]["revision"]) for f in missed] == [
        ("message.deleted", 2, None, 2),
        ("message.edited", 1, "final 1, really", 3),  # each message once, as it is now
    ]
    assert await bob.frame() == {"type": "resumed", "ref": "r", "conversations": {room: 3}, "revisions": {room: 3}}

    await bob.send(type="resume", ref="again", conversations={room: 3}, revisions={room: 3})
    assert await bob.frame() == {"type": "resumed", "ref": "again", "conversations": {room: 3}, "revisions": {room: 3}}
    await alice.close()
    await bob.close()


async def test_read_receipts_and_typing_reach_the_other_members(clients):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    for n in (1, 2):
        await alice.send(type="send", conversation=room, text=f"m{n}", client_msg_id=f"c{n}")
        await alice.frame()
        await alice.frame()
    await bob.frame()
    await bob.frame()

    await bob.send(type="typing", conversation=room)
    assert await alice.frame() == {"type": "typing", "conversation": room, "user": bob.user_id}
    await bob.send(type="read", ref="r", conversation=room, seq=2)
    assert await bob.frame() == {"type": "ack", "ref": "r", "conversation": room, "last_read_seq": 2}
    assert await alice.frame() == {"type": "read", "conversation": room, "user": bob.user_id, "seq": 2}
    listed = await database_sync_to_async(bob_client.get)("/api/v1/rooms")
    assert listed.json()["results"][0]["unread"] == 0
    await alice.close()
    await bob.close()


async def test_a_member_added_while_connected_joins_the_room_and_one_removed_stops_hearing_it(clients, monkeypatch):
    alice_client, bob_client, carol_client = clients
    room = await _group(alice_client, bob_client)
    carol = await Socket(carol_client).open()
    assert carol.hello["conversations"] == {}
    await database_sync_to_async(alice_client.post)(
        f"/api/v1/rooms/{room}/members", {"user_ids": [str(carol_client.user.pk)]}, format="json"
    )
    assert await carol.frame() == {"type": "conversation.joined", "conversation": room, "last_seq": 0}
    await database_sync_to_async(alice_client.post)(
        f"/api/v1/rooms/{room}/messages", {"text": "welcome"}, format="json"
    )
    assert (await carol.frame())["message"]["text"] == "welcome"

    # removed, and the ring telling carol's socket so is lost: the database still decides
    _dropping(monkeypatch, "room.membership")
    await database_sync_to_async(alice_client.delete)(f"/api/v1/rooms/{room}/members/{carol_client.user.pk}")
    assert await carol.frame() == {"type": "conversation.updated", "conversation": room}
    await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": "secret"}, format="json")
    await carol.nothing_more()
    await carol.close()


async def test_members_see_each_other_come_online_and_go_offline(clients):
    alice_client, bob_client, _ = clients
    alice = await Socket(alice_client).open()
    assert alice.hello["online"] == [alice.user_id]
    bob = await Socket(bob_client).open()
    assert set(bob.hello["online"]) == {alice.user_id, bob.user_id}
    assert await alice.frame(presence=True) == {"type": "presence", "user": bob.user_id, "status": "online"}
    second_bob = await Socket(bob_client).open()  # a second device changes nothing
    await second_bob.close()
    await alice.nothing_more()
    await bob.close()
    assert await alice.frame(presence=True) == {"type": "presence", "user": bob.user_id, "status": "offline"}
    await alice.close()


async def test_a_failing_channel_layer_loses_no_message_and_no_connection(clients, monkeypatch):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    layer = get_channel_layer()
    real_group_send = layer.group_send

    async def broken_group_send(group, message):
        raise ConnectionError("the channel layer is down")

    monkeypatch.setattr(layer, "group_send", broken_group_send)
    monkeypatch.setattr(hub, "ring_from_thread", lambda conversation, seq: None)  # bob's socket: another process's
    await alice.send(type="typing", conversation=room)
    await alice.send(type="send", ref=1, conversation=room, text="stored anyway", client_msg_id="c1")
    ack = await alice.frame()
    assert (ack["type"], ack["message"]["seq"]) == ("ack", 1)
    assert (await alice.frame())["type"] == "message.new"
    await bob.nothing_more()
    assert await _stored(room) == [(1, "stored anyway")]

    monkeypatch.setattr(layer, "group_send", real_group_send)
    await bob.send(type="resume", conversations={room: 0})
    assert (await bob.frame())["message"]["text"] == "stored anyway"
    assert (await bob.frame())["type"] == "resumed"
    await alice.close()
    await bob.close()


async def test_a_slow_channel_layer_does_not_hold_up_the_senders_ack(clients, monkeypatch):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    layer = get_channel_layer()
    real_group_send = layer.group_send
    let_through = asyncio.Event()

    async def slow_group_send(group, message):
        if message["type"] == "room.message":
            await let_through.wait()  # Redis answering slowly, or an event loop busy with a fan-out
        await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", slow_group_send)
    monkeypatch.setattr(hub, "ring_from_thread", lambda conversation, seq: None)  # bob's socket: another process's
    await alice.send(type="send", ref=1, conversation=room, text="not held up", client_msg_id="c1")
    ack = await alice.frame()
    assert (ack["type"], ack["message"]["seq"]) == ("ack", 1)
    assert (await alice.frame())["message"]["seq"] == 1
    await bob.nothing_more()  # the ring has not gone out yet
    let_through.set()
    assert (await bob.frame())["message"]["text"] == "not held up"
    await alice.close()
    await bob.close()


async def test_rings_of_messages_stored_while_one_is_on_its_way_go_as_one_and_lose_nothing(clients, monkeypatch):
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    bob = await Socket(bob_client).open(batch=True)
    layer = get_channel_layer()
    real_group_send = layer.group_send
    let_through, rung = asyncio.Event(), []

    async def slow_group_send(group, message):
        if message["type"] == "room.message":
            rung.append(message["seq"])
            await let_through.wait()  # Redis answering slowly
        await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", slow_group_send)
    monkeypatch.setattr(hub, "ring_from_thread", lambda conversation, seq: None)  # bob's socket: another process's
    for text in ("one", "two", "three"):
        await database_sync_to_async(alice_client.post)(f"/api/v1/rooms/{room}/messages", {"text": text}, format="json")
    await bob.nothing_more()
    let_through.set()
    received = []
    while len(received) < 3:
        frame = await bob.frame()
        received += frame["messages"] if frame["type"] == "messages.new" else [frame["message"]]
    assert [(m["seq"], m["text"]) for m in received] == [(1, "one"), (2, "two"), (3, "three")]
    await bob.nothing_more()
    assert rung == [1, 3]  # the first ring, then one for the two stored while it was on its way
    await bob.close()


async def test_a_client_that_falls_too_far_behind_is_closed_with_4408_and_catches_up_on_reconnect(
    clients, settings, monkeypatch
):
    from apps.chat.consumers import RealtimeConsumer

    settings.REALTIME_SOCKET_QUEUE = 3
    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    # Bob's client stops reading: every send to his socket waits, as it does on a transport whose buffers are full.
    reading = asyncio.Event()
    send = RealtimeConsumer.send

    async def stalled_send(self, text_data=None, bytes_data=None, close=False):
        if str(self.actor.user_id) == bob.user_id:
            await reading.wait()
        await send(self, text_data=text_data, bytes_data=bytes_data, close=close)

    monkeypatch.setattr(RealtimeConsumer, "send", stalled_send)
    await alice.send(type="send", ref=1, conversation=room, text="are you there?", client_msg_id="c1")
    assert (await alice.frame())["type"] == "ack"
    for _ in range(settings.REALTIME_SOCKET_QUEUE + 1):  # each typing frame is one more delivery waiting for Bob
        await alice.send(type="typing", conversation=room)

    closed = await bob.communicator.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4408)
    await bob.close()
    reading.set()

    bob = await Socket(bob_client).open()
    await bob.send(type="resume", ref="r", conversations={room: 0})
    got = await bob.frame()
    assert (got["type"], got["message"]["seq"], got["message"]["text"]) == ("message.new", 1, "are you there?")
    assert (await bob.frame())["type"] == "resumed"
    await alice.close()
    await bob.close()


async def test_a_traced_server_records_each_stage_of_a_message_in_order(clients, tmp_path):
    """`make bench-realtime --trace` reads these stages to find where a slow delivery spent its time."""
    from apps.chat import trace

    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    trace.start()
    try:
        await alice.send(type="send", ref=1, conversation=room, text="traced", client_msg_id="t1")
        assert (await alice.frame())["type"] == "ack"
        assert (await bob.frame())["message"]["seq"] == 1
        await bob.nothing_more()
        trace.dump(tmp_path / "trace.json")
    finally:
        trace.stop()
    recorded = json.loads((tmp_path / "trace.json").read_text())
    stages = recorded["marks"]["1"]
    order = ["received", "committed", "hub_rang", "read_asked", "read_done", "handed", "written_first"]
    assert [stages[name] for name in order] == sorted(stages[name] for name in order)
    assert stages["committed"] <= stages["rung"]  # the hub may hear the ring before the ringing thread resumes
    assert stages["written"] == 1  # bob's socket, through the hub (alice's own socket sends hers at once)
    assert "room_message_send" in {name for name, *_ in recorded["calls"]}
    assert not trace.enabled()
    await alice.close()
    await bob.close()


async def test_a_room_is_still_served_after_postgresql_ended_the_hubs_connections(clients):
    """The hub's reader threads outlive their connections: after a PostgreSQL restart or an administrator ending
    them, the next message still reaches the room live."""
    import threading

    from apps.chat import hub

    alice_client, bob_client, _ = clients
    room = await _group(alice_client, bob_client)
    alice, bob = await Socket(alice_client).open(), await Socket(bob_client).open()
    await alice.send(type="send", ref=1, conversation=room, text="before", client_msg_id="c1")
    assert (await bob.frame())["message"]["text"] == "before"

    barrier = threading.Barrier(2)

    def end_this_threads_connection() -> None:
        from django.db import connection

        connection.ensure_connection()
        barrier.wait(timeout=5)  # both reader threads hold a connection at once: each one's is ended
        connection.connection.close()  # gone underneath Django, as when the server ends it

    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(hub._READERS, end_this_threads_connection) for _ in range(2)))

    await alice.send(type="send", ref=2, conversation=room, text="after", client_msg_id="c2")
    frame = await bob.frame()
    assert (frame["type"], frame["message"]["seq"], frame["message"]["text"]) == ("message.new", 2, "after")
    await alice.close()
    await bob.close()
