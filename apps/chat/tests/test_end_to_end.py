"""End to end over real ASGI servers (uvicorn processes on the test database) and a real WebSocket client:
two members exchange messages, one drops off and catches up with `resume` on reconnect; and two server
processes sharing a channels_redis layer ring each other's sockets."""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack

import pytest
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.django_db(transaction=True)


def _open(sockets: ExitStack, base: str, client) -> tuple[ClientConnection, dict]:
    ticket = client.post("/api/v1/realtime/tickets").json()["ticket"]
    ws = sockets.enter_context(connect(f"{base}/ws/?ticket={ticket}", origin="http://localhost", open_timeout=10))
    return ws, _frame(ws)


def _frame(ws: ClientConnection, *, skip: tuple[str, ...] = ("presence",)) -> dict:
    while True:
        frame = json.loads(ws.recv(timeout=10))
        if frame["type"] not in skip:
            return frame


def _send(ws: ClientConnection, **frame) -> None:
    ws.send(json.dumps(frame))


def test_two_members_talk_over_a_real_server_and_one_catches_up_after_reconnecting(
    server, organization, make_member_client
):
    alice_client, bob_client = make_member_client(organization), make_member_client(organization)
    room = alice_client.post(
        "/api/v1/rooms", {"kind": "group", "title": "Ops", "user_ids": [str(bob_client.user.pk)]}, format="json"
    ).json()["id"]

    sockets = ExitStack()
    alice, hello = _open(sockets, server, alice_client)
    assert hello["type"] == "hello" and hello["conversations"] == {room: 0}
    bob, _ = _open(sockets, server, bob_client)

    _send(alice, type="send", ref=1, conversation=room, text="deploy at noon?", client_msg_id="a1")
    assert _frame(alice)["type"] == "ack"
    got = _frame(bob)
    assert (got["type"], got["message"]["seq"], got["message"]["text"]) == ("message.new", 1, "deploy at noon?")
    _send(bob, type="send", ref=1, conversation=room, text="yes", client_msg_id="b1")
    assert _frame(bob)["type"] == "ack"
    assert [_frame(alice)["message"]["text"] for _ in range(2)] == ["deploy at noon?", "yes"]

    bob.close()
    for n, text in enumerate(("moved to 1pm", "ping me"), start=2):
        _send(alice, type="send", ref=n, conversation=room, text=text, client_msg_id=f"a{n}")
        assert _frame(alice, skip=("presence", "message.new"))["type"] == "ack"

    bob, hello = _open(sockets, server, bob_client)
    assert hello["conversations"] == {room: 4}
    _send(bob, type="resume", ref="r", conversations={room: 2})
    caught_up = [_frame(bob) for _ in range(2)]
    assert [(f["message"]["seq"], f["message"]["text"]) for f in caught_up] == [(3, "moved to 1pm"), (4, "ping me")]
    assert _frame(bob) == {"type": "resumed", "ref": "r", "conversations": {room: 4}}

    _send(alice, type="send", ref=9, conversation=room, text="see you", client_msg_id="a9")
    got = _frame(bob)
    assert (got["message"]["seq"], got["message"]["text"]) == (5, "see you")  # live again, nothing repeated
    sockets.close()


def test_two_server_processes_sharing_a_redis_channel_layer_ring_each_others_sockets(
    servers, redis_url, organization, make_member_client
):
    shared = {"DOCENT_LIVE_REDIS_URL": redis_url, "DOCENT_LIVE_LAYER_PREFIX": f"docent-e2e-{uuid.uuid4().hex[:12]}"}
    first, second = servers.start(**shared), servers.start(**shared)
    alice_client, bob_client = make_member_client(organization), make_member_client(organization)
    room = alice_client.post(
        "/api/v1/rooms", {"kind": "group", "title": "Ops", "user_ids": [str(bob_client.user.pk)]}, format="json"
    ).json()["id"]
    sockets = ExitStack()
    alice, _ = _open(sockets, first, alice_client)
    bob, hello = _open(sockets, second, bob_client)
    assert str(alice_client.user.pk) in hello["online"]  # presence is shared too
    assert _frame(alice, skip=()) == {"type": "presence", "user": str(bob_client.user.pk), "status": "online"}

    _send(bob, type="typing", conversation=room)
    assert _frame(alice) == {"type": "typing", "conversation": room, "user": str(bob_client.user.pk)}
    _send(alice, type="send", ref=1, conversation=room, text="from the first process", client_msg_id="a1")
    got = _frame(bob)
    assert (got["type"], got["message"]["seq"], got["message"]["text"]) == ("message.new", 1, "from the first process")
    _send(bob, type="send", ref=1, conversation=room, text="and back", client_msg_id="b1")
    assert [_frame(alice, skip=("presence", "ack"))["message"]["seq"] for _ in range(2)] == [1, 2]
    sockets.close()
