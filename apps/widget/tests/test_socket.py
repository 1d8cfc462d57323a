"""The visitor's WebSocket: token and origin checked, agent replies live, nothing lost across reconnects; and
the members' socket hearing about handoffs so the inbox updates live."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing.websocket import WebsocketCommunicator
from django.db import OperationalError
from redis.exceptions import ResponseError

from apps.widget.tests.conftest import SHOP, WidgetBrowser
from config.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


class VisitorSocket:
    def __init__(self, token: str, origin: str = SHOP, subprotocols: list[str] | None = None) -> None:
        self.communicator = WebsocketCommunicator(
            application,
            "/ws/widget/",
            headers=[(b"origin", origin.encode())],
            subprotocols=subprotocols if subprotocols is not None else ["docent.visitor", token],
        )

    async def open(self) -> tuple[bool, object, dict | None]:
        """(connected, subprotocol or close code, first frame)."""
        connected, detail = await self.communicator.connect(timeout=5)
        if not connected:
            return False, detail, None
        output = await self.communicator.receive_output(timeout=5)
        first = json.loads(output["text"]) if output.get("text") else None
        if first and first["type"] == "error":
            closing = await self.communicator.receive_output(timeout=5)
            return False, closing.get("code"), first
        return True, detail, first

    async def frame(self) -> dict:
        return json.loads(await self.communicator.receive_from(timeout=5))

    async def send(self, **frame) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def close(self) -> None:
        await self.communicator.disconnect()


@pytest.fixture
def visitor(shop_bot):
    browser = WidgetBrowser()
    assert browser.open(shop_bot.publishable_key).status_code == 200
    browser.send("How do returns work?")
    return browser


async def _waiting(visitor) -> str:
    response = await database_sync_to_async(visitor.post)("/widget/v1/handoff")
    assert response.status_code == 200, response.content
    return response.json()["conversation"]["id"]


async def test_the_visitor_sees_the_agent_take_over_and_reply_live(visitor, agent):
    conversation = await _waiting(visitor)
    socket = VisitorSocket(visitor.token)
    connected, subprotocol, hello = await socket.open()
    assert connected and subprotocol == "docent.visitor"
    assert hello["type"] == "hello" and hello["conversation"]["state"] == "waiting"

    await database_sync_to_async(agent.post)(f"/api/v1/handoffs/{conversation}/claim")
    state = await socket.frame()
    assert (state["type"], state["state"]) == ("conversation.state", "with_agent")
    assert state["agent_name"] == agent.user.full_name.split()[0]

    await database_sync_to_async(agent.post)(f"/api/v1/handoffs/{conversation}/messages", {"text": "Hello, Sam here."})
    created = await socket.frame()
    assert created["type"] == "message.created"
    assert (created["seq"], created["message"]["role"], created["message"]["text"]) == (3, "agent", "Hello, Sam here.")
    await socket.close()


async def test_a_reconnecting_visitor_resumes_from_the_database(visitor, agent):
    conversation = await _waiting(visitor)
    await database_sync_to_async(agent.post)(f"/api/v1/handoffs/{conversation}/claim")
    # The visitor is offline while the agent writes twice.
    for text in ("First reply", "Second reply"):
        await database_sync_to_async(agent.post)(f"/api/v1/handoffs/{conversation}/messages", {"text": text})
    socket = VisitorSocket(visitor.token)
    connected, _, _hello = await socket.open()
    assert connected
    await socket.send(type="resume", after_seq=2)
    state = await socket.frame()
    assert (state["type"], state["state"]) == ("conversation.state", "with_agent")
    replayed = [await socket.frame(), await socket.frame()]
    assert [(f["seq"], f["message"]["text"]) for f in replayed] == [(3, "First reply"), (4, "Second reply")]
    await socket.close()


async def test_an_agents_reply_whose_doorbell_was_lost_reaches_the_open_widget_without_a_reconnect(
    visitor, agent, monkeypatch, settings
):
    """The channel layer may stay silent (over capacity, a Redis blip): the server process checks its visitor
    sockets' conversations every REALTIME_CATCH_UP_SECONDS and sends what a lost ring left behind, once."""
    settings.REALTIME_CATCH_UP_SECONDS = 0.2
    conversation = await _waiting(visitor)
    await database_sync_to_async(agent.post)(f"/api/v1/handoffs/{conversation}/claim")
    socket = VisitorSocket(visitor.token)
    connected, _, _hello = await socket.open()
    assert connected
    layer = get_channel_layer()
    group_send = layer.group_send

    async def dropping(group, message):
        if message["type"] != "widget.message":
            await group_send(group, message)

    monkeypatch.setattr(layer, "group_send", dropping)
    for text in ("First reply", "Second reply"):
        sent = await database_sync_to_async(agent.post)(f"/api/v1/handoffs/{conversation}/messages", {"text": text})
        assert sent.status_code == 201, sent.content
    caught_up = [await socket.frame(), await socket.frame()]
    assert [(f["type"], f["seq"], f["message"]["text"]) for f in caught_up] == [
        ("message.created", 3, "First reply"),
        ("message.created", 4, "Second reply"),
    ]
    await socket.send(type="ping")
    assert await socket.frame() == {"type": "pong"}  # nothing sent twice before it
    await socket.close()


async def test_the_visitors_own_message_and_the_bots_answer_arrive_on_the_socket(visitor):
    socket = VisitorSocket(visitor.token)
    assert (await socket.open())[0]
    await database_sync_to_async(visitor.send)("And shipping?")
    frames = [await socket.frame(), await socket.frame()]
    assert [(f["seq"], f["message"]["role"]) for f in frames] == [(3, "visitor"), (4, "bot")]
    await socket.close()


async def test_a_socket_from_another_site_is_refused_with_4403(visitor, shop_bot):
    shop_bot.allowed_origins = [SHOP, "https://other.example"]
    await database_sync_to_async(shop_bot.save)()
    connected, code, error = await VisitorSocket(visitor.token, origin="https://other.example").open()
    assert (connected, code, error["code"]) == (False, 4403, "origin_not_allowed")


@pytest.mark.parametrize("subprotocols", [["docent.visitor", "forged"], ["docent.visitor"], []], ids=str)
async def test_a_socket_without_a_valid_token_is_refused_with_4401(visitor, subprotocols):
    connected, code, error = await VisitorSocket("", subprotocols=subprotocols).open()
    assert (connected, code, error["code"]) == (False, 4401, "invalid_visitor_token")


def _unavailable(*args, **kwargs):
    raise OperationalError("couldn't get a connection after 10.00 sec")


async def _channel_layer_full(*args, **kwargs):
    raise ResponseError("max number of clients reached")


@pytest.mark.parametrize(
    "where, failure",
    [
        ("apps.widget.consumers.visitor_authenticate", _unavailable),  # while the token and origin are checked
        ("apps.widget.consumers.visitor_conversation", _unavailable),  # while the conversation is read
        ("channels.layers.InMemoryChannelLayer.group_add", _channel_layer_full),  # while its groups are joined
    ],
    ids=["token", "conversation", "groups"],
)
async def test_a_connect_the_server_cannot_serve_is_refused_with_1013_and_the_next_one_works(
    visitor, monkeypatch, caplog, where, failure
):
    """Not an HTTP 500 at the handshake: the widget reconnects on 1013 later, with the token it has."""
    await _waiting(visitor)  # a conversation to read and whose group to join
    with monkeypatch.context() as patched:
        patched.setattr(where, failure)
        socket = VisitorSocket(visitor.token)
        connected, subprotocol = await socket.communicator.connect(timeout=5)
        # Accepted with the protocol it offered: a browser drops a handshake that picks none, and never sees 1013.
        assert (connected, subprotocol) == (True, "docent.visitor")
        assert await socket.communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 1013}
    assert "realtime connect refused with 1013 on /ws/widget/" in caplog.text
    socket = VisitorSocket(visitor.token)
    connected, _, hello = await socket.open()
    assert connected and hello["type"] == "hello" and hello["conversation"]["state"] == "waiting"
    await socket.close()


async def test_a_members_socket_hears_handoffs_so_the_inbox_updates_live(visitor, agent):
    ticket = (await database_sync_to_async(agent.post)("/api/v1/realtime/tickets")).json()["ticket"]
    member = WebsocketCommunicator(application, f"/ws/?ticket={ticket}", headers=[(b"origin", b"http://localhost")])
    assert (await member.connect(timeout=5))[0]

    async def handoff_frame() -> dict:
        while True:
            frame = json.loads(await member.receive_from(timeout=5))
            if frame["type"].startswith("handoff."):
                return frame

    conversation = await _waiting(visitor)
    requested = await handoff_frame()
    assert (requested["type"], requested["conversation"], requested["state"]) == (
        "handoff.requested",
        conversation,
        "waiting",
    )
    await database_sync_to_async(visitor.send)("Is anyone there?")
    message = await handoff_frame()
    assert (message["type"], message["seq"]) == ("handoff.message", 3)
    await member.disconnect()


async def test_handoff_frames_reach_only_the_members_the_handoff_api_lets_act(
    visitor, organization, make_member_client, monkeypatch
):
    from apps.chat import permissions
    from apps.organizations.models import Role

    monkeypatch.setattr(permissions, "HANDOFF_AGENT_ROLE", Role.ADMIN)  # were agents admins only
    sockets = []
    for role in (Role.ADMIN, Role.MEMBER):
        client = await database_sync_to_async(make_member_client)(organization, role)
        ticket = (await database_sync_to_async(client.post)("/api/v1/realtime/tickets")).json()["ticket"]
        socket = WebsocketCommunicator(application, f"/ws/?ticket={ticket}", headers=[(b"origin", b"http://localhost")])
        assert (await socket.connect(timeout=5))[0]
        assert json.loads(await socket.receive_from(timeout=5))["type"] == "hello"
        sockets.append(socket)
    admin, member = sockets

    conversation = await _waiting(visitor)
    while (frame := json.loads(await admin.receive_from(timeout=5)))["type"] != "handoff.requested":
        pass
    assert frame["conversation"] == conversation
    await member.send_to(text_data=json.dumps({"type": "handoff.typing", "ref": 1, "conversation": conversation}))
    await member.send_to(text_data=json.dumps({"type": "ping", "ref": "barrier"}))
    heard = []
    while (frame := json.loads(await member.receive_from(timeout=5))).get("ref") != "barrier":
        heard.append(frame)
    assert [f["type"] for f in heard if f["type"].startswith("handoff.")] == []
    assert [(f["type"], f.get("code")) for f in heard if f["type"] != "presence"] == [("error", "permission_denied")]
    for socket in sockets:
        await socket.disconnect()


async def test_typing_shows_on_both_sides_while_a_member_holds_the_conversation(visitor, agent):
    conversation = await _waiting(visitor)
    await database_sync_to_async(agent.post)(f"/api/v1/handoffs/{conversation}/claim")
    socket = VisitorSocket(visitor.token)
    assert (await socket.open())[0]
    ticket = (await database_sync_to_async(agent.post)("/api/v1/realtime/tickets")).json()["ticket"]
    member = WebsocketCommunicator(application, f"/ws/?ticket={ticket}", headers=[(b"origin", b"http://localhost")])
    assert (await member.connect(timeout=5))[0]

    await member.send_to(text_data=json.dumps({"type": "handoff.typing", "conversation": conversation}))
    assert await socket.frame() == {"type": "typing", "role": "agent"}

    await socket.send(type="typing")
    while (frame := json.loads(await member.receive_from(timeout=5)))["type"] != "handoff.typing":
        pass
    assert frame["conversation"] == conversation
    await socket.close()
    await member.disconnect()


async def test_the_socket_closes_with_4401_when_the_token_expires(shop_bot, settings):
    # Long enough that a slow machine still opens the socket before the token expires (3 to 4 s from now).
    settings.WIDGET_VISITOR_TOKEN_SECONDS = 4
    browser = WidgetBrowser()
    assert (await database_sync_to_async(browser.open)(shop_bot.publishable_key)).status_code == 200
    socket = VisitorSocket(browser.token)
    assert (await socket.open())[0]
    expired = json.loads((await socket.communicator.receive_output(timeout=15))["text"])
    assert expired["code"] == "visitor_token_expired"
    assert (await socket.communicator.receive_output(timeout=5))["code"] == 4401


async def test_a_token_that_expired_before_the_watch_began_closes_the_socket_at_once(shop_bot):
    """The handshake accepted the token; on a slow server it can expire before the expiry watch takes its first
    step. The watch then closes the socket at once instead of dying silently and leaving it open."""
    from types import SimpleNamespace

    from apps.widget.consumers import CLOSE_UNAUTHENTICATED, WidgetConsumer
    from apps.widget.tokens import visitor_token_issue

    token, _ = await database_sync_to_async(_expired_token)(shop_bot, visitor_token_issue)
    sent: list = []

    async def send_json(frame):
        sent.append(frame)

    async def close(code):
        sent.append(code)

    await WidgetConsumer._close_on_expiry(SimpleNamespace(token=token, send_json=send_json, close=close))
    assert sent[0]["code"] == "visitor_token_expired"
    assert sent[1] == CLOSE_UNAUTHENTICATED


def _expired_token(bot, issue):
    from django.test import override_settings

    with override_settings(WIDGET_VISITOR_TOKEN_SECONDS=-5):
        return issue(
            bot_id=bot.pk,
            organization_id=bot.organization_id,
            visitor_id="v_expired",
            origin=SHOP,
            publishable_key=bot.publishable_key,
            verified=False,
        )


async def test_a_visitor_never_hears_another_visitors_conversation(visitor, shop_bot):
    other = WidgetBrowser()
    assert (await database_sync_to_async(other.open)(shop_bot.publishable_key)).status_code == 200
    socket = VisitorSocket(other.token)
    assert (await socket.open())[0]
    await database_sync_to_async(visitor.send)("Where is my parcel?")
    await socket.send(type="ping")
    assert await socket.frame() == {"type": "pong"}  # nothing of the other conversation came before it
    await socket.close()
