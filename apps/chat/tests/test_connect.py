"""Opening the realtime WebSocket: tickets, JWT, close codes, bad frames, and losing access while connected."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from apps.chat.models import RealtimeTicket
from apps.organizations.actors import Actor
from apps.organizations.models import Membership, Role
from apps.organizations.services import membership_remove
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from config.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = [(b"origin", b"http://localhost")]


async def _ticket(client) -> str:
    response = await database_sync_to_async(client.post)("/api/v1/realtime/tickets")
    assert response.status_code == 201, response.content
    return response.json()["ticket"]


async def _open(path: str, *, subprotocols=None, headers=ORIGIN):
    """(communicator, connected, subprotocol or close code). A refused socket is accepted and then closed with
    a code the client can read, so `connected` is False and the third value is that code."""
    communicator = WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)
    connected, code = await communicator.connect(timeout=5)
    if connected:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return communicator, False, output.get("code")
        communicator.output_queue.put_nowait(output)  # not a close: leave the frame for the test
    return communicator, connected, code


async def _frame(communicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=5))


@pytest.fixture
def member(db):
    return MembershipFactory(organization=OrganizationFactory(), role=Role.MEMBER)


@pytest.fixture
def member_client(member, make_member_client):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(member.user)
    client.credentials(HTTP_X_ORGANIZATION=str(member.organization_id))
    return client


async def test_a_member_opens_the_socket_with_a_ticket_and_is_greeted(member, member_client):
    communicator, connected, _ = await _open(f"/ws/?ticket={await _ticket(member_client)}")
    assert connected
    hello = await _frame(communicator)
    assert hello["type"] == "hello"
    assert (hello["organization"], hello["user"]) == (str(member.organization_id), str(member.user_id))
    await communicator.send_to(text_data=json.dumps({"type": "ping", "ref": 7}))
    assert await _frame(communicator) == {"type": "pong", "ref": 7}
    await communicator.disconnect()


async def test_a_ticket_opens_one_connection_only(member_client):
    ticket = await _ticket(member_client)
    first, connected, _ = await _open(f"/ws/?ticket={ticket}")
    assert connected
    _second, connected, code = await _open(f"/ws/?ticket={ticket}")
    assert not connected and code == 4401
    await first.disconnect()


async def test_an_expired_ticket_or_none_at_all_is_refused_with_4401(member, member_client):
    ticket = await _ticket(member_client)
    await database_sync_to_async(
        lambda: RealtimeTicket.objects.for_org(member.organization).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    )()
    for path in (f"/ws/?ticket={ticket}", "/ws/", "/ws/?ticket=wst_forged"):
        _, connected, code = await _open(path)
        assert (connected, code) == (False, 4401), path


async def test_a_jwt_in_the_subprotocol_opens_the_socket_and_the_protocol_is_agreed(member):
    token = await database_sync_to_async(lambda: str(RefreshToken.for_user(member.user).access_token))()
    communicator, connected, subprotocol = await _open(
        f"/ws/?organization={member.organization_id}", subprotocols=["docent.v1", f"docent.jwt.{token}"]
    )
    assert connected and subprotocol == "docent.v1"
    assert (await _frame(communicator))["type"] == "hello"
    await communicator.disconnect()


async def test_an_unknown_path_closes_with_4404_not_a_server_error():
    _, connected, code = await _open("/ws/nowhere/")
    assert (connected, code) == (False, 4404)


async def test_a_foreign_origin_is_refused(member_client):
    _, connected, _ = await _open(
        f"/ws/?ticket={await _ticket(member_client)}", headers=[(b"origin", b"https://evil.example")]
    )
    assert not connected


async def test_bad_frames_get_error_codes_and_the_connection_stays_usable(member_client, settings):
    settings.REALTIME_FRAME_BURST = 5
    settings.REALTIME_FRAMES_PER_SECOND = 0.01
    communicator, connected, _ = await _open(f"/ws/?ticket={await _ticket(member_client)}")
    assert connected
    await _frame(communicator)  # hello
    sent = ["{not json", json.dumps({"no": "type"}), json.dumps({"type": "teleport"}), "x" * 20000]
    for text in sent:
        await communicator.send_to(text_data=text)
    codes = [(await _frame(communicator))["code"] for _ in sent]
    assert codes == ["bad_frame", "bad_frame", "unknown_type", "frame_too_large"]
    await communicator.send_to(text_data=json.dumps({"type": "ping", "ref": "still-here"}))
    assert await _frame(communicator) == {"type": "pong", "ref": "still-here"}
    await communicator.send_to(text_data=json.dumps({"type": "ping", "ref": "fifth"}))  # the burst of 5 used up
    assert (await _frame(communicator))["type"] == "pong"
    await communicator.send_to(text_data=json.dumps({"type": "ping", "ref": "sixth"}))
    assert (await _frame(communicator))["code"] == "rate_limited"
    await communicator.disconnect()


async def test_an_api_key_cannot_get_a_ticket(member, make_api_key_client):
    client = await database_sync_to_async(make_api_key_client)(member.organization)
    response = await database_sync_to_async(client.post)("/api/v1/realtime/tickets")
    assert response.status_code == 403


async def test_a_member_removed_from_the_organization_is_disconnected_at_once(member, member_client):
    communicator, connected, _ = await _open(f"/ws/?ticket={await _ticket(member_client)}")
    assert connected
    await _frame(communicator)
    admin = await database_sync_to_async(MembershipFactory)(organization=member.organization, role=Role.ADMIN)

    def remove() -> None:
        actor = Actor.for_user(admin.user).in_organization(member.organization, admin)
        membership_remove(membership=Membership.objects.for_org(member.organization).get(pk=member.pk), actor=actor)

    await database_sync_to_async(remove)()
    assert (await _frame(communicator))["type"] == "revoked"
    assert (await communicator.receive_output(timeout=5))["code"] == 4403


async def test_without_the_doorbell_a_removed_member_is_still_disconnected_by_the_access_check(
    member, member_client, settings
):
    settings.REALTIME_ACCESS_CHECK_SECONDS = 0.2
    communicator, connected, _ = await _open(f"/ws/?ticket={await _ticket(member_client)}")
    assert connected
    await _frame(communicator)
    # Removed behind the service's back: no event, no broadcast.
    await database_sync_to_async(
        lambda: Membership.objects.for_org(member.organization).filter(pk=member.pk).delete()
    )()
    await asyncio.sleep(0.5)
    assert (await _frame(communicator))["type"] == "revoked"
    assert (await communicator.receive_output(timeout=5))["code"] == 4403


async def test_a_connect_the_database_cannot_serve_is_refused_with_1013_and_the_next_one_works(
    member_client, monkeypatch
):
    from django.db import OperationalError

    from apps.chat import auth, selectors

    def unavailable(**kwargs):
        raise OperationalError("couldn't get a connection after 10.00 sec")

    with monkeypatch.context() as patched:
        patched.setattr(auth, "realtime_ticket_redeem", unavailable)  # while the ticket is checked
        _, connected, code = await _open(f"/ws/?ticket={await _ticket(member_client)}")
        assert (connected, code) == (False, 1013)
    with monkeypatch.context() as patched:
        patched.setattr(selectors, "realtime_connect_state", unavailable)  # while the member's rooms are read
        _, connected, code = await _open(f"/ws/?ticket={await _ticket(member_client)}")
        assert (connected, code) == (False, 1013)
        # A browser that offered subprotocols drops a handshake that picks none (its page would see 1006).
        offered = ["docent.v1", f"docent.ticket.{await _ticket(member_client)}"]
        communicator = WebsocketCommunicator(application, "/ws/", headers=ORIGIN, subprotocols=offered)
        assert await communicator.connect(timeout=5) == (True, "docent.v1")
        assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 1013}
    communicator, connected, _ = await _open(f"/ws/?ticket={await _ticket(member_client)}")
    assert connected and (await _frame(communicator))["type"] == "hello"
    await communicator.disconnect()


async def test_a_connect_whose_presence_cannot_be_recorded_is_refused_with_1013_not_a_server_error(
    member_client, monkeypatch
):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from apps.chat import presence

    def unavailable(**kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as patched:
        patched.setattr(presence, "presence_arrive", unavailable)
        _, connected, code = await _open(f"/ws/?ticket={await _ticket(member_client)}")
        assert (connected, code) == (False, 1013)
    communicator, connected, _ = await _open(f"/ws/?ticket={await _ticket(member_client)}")
    assert connected and (await _frame(communicator))["type"] == "hello"
    await communicator.disconnect()


async def test_a_browser_offering_the_protocol_with_a_forged_jwt_reads_4401_not_a_dropped_handshake(member):
    offered = ["docent.v1", "docent.jwt.not-a-token"]
    communicator = WebsocketCommunicator(
        application, f"/ws/?organization={member.organization_id}", headers=ORIGIN, subprotocols=offered
    )
    assert await communicator.connect(timeout=5) == (True, "docent.v1")
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
