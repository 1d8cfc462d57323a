"""Many sockets opening at once against a real server: when its database pool runs short, every handshake is
still answered with the WebSocket, a connect that cannot be served is refused with close code 1013 (try again
later), and none gets an HTTP 500; and a socket costs the server one open file, not one more per Redis
connection of its own."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from apps.chat.models import RealtimeTicket
from apps.chat.services import TICKET_PREFIX
from apps.organizations.models import Membership, Role
from apps.organizations.tests.factories import OrganizationFactory
from apps.users.models import User
from common.security.tokens import token_issue

pytestmark = pytest.mark.django_db(transaction=True)

SOCKETS = 150


def _tickets(count: int) -> list[str]:
    """`count` members of one organization, a ticket each (issued as the ticket endpoint issues them)."""
    organization = OrganizationFactory()
    users = User.objects.bulk_create([User(email=f"burst-{i}@example.com") for i in range(count)])
    Membership.objects.bulk_create([Membership(organization=organization, user=u, role=Role.MEMBER) for u in users])
    issued = [token_issue(TICKET_PREFIX) for _ in users]
    expires = timezone.now() + timedelta(minutes=5)
    RealtimeTicket.objects.bulk_create(
        [
            RealtimeTicket(organization=organization, user=u, token_hash=t.digest, expires_at=expires)
            for u, t in zip(users, issued, strict=True)
        ]
    )
    return [t.plaintext for t in issued]


async def _open_all(base: str, tickets: list[str]) -> list[str]:
    """What each socket got first: "hello", "closed <code>", or the handshake's failure."""

    async def one(ticket: str) -> str:
        try:
            async with connect(f"{base}/ws/?ticket={ticket}", origin="http://localhost", open_timeout=120) as ws:
                try:
                    return str(json.loads(await ws.recv())["type"])
                except ConnectionClosed as closed:
                    return f"closed {closed.rcvd.code if closed.rcvd else None}"
        except Exception as exc:  # an HTTP 500 at the handshake lands here
            return f"{type(exc).__name__}: {exc}"

    return await asyncio.gather(*(one(t) for t in tickets))


def test_a_burst_of_connects_on_a_short_database_pool_is_refused_with_1013_never_a_500(servers):
    tickets = _tickets(SOCKETS)
    # One pooled connection lent for at most 50 ms: most of a simultaneous burst finds none.
    base = servers.start(DOCENT_LIVE_DB_POOL="1", DOCENT_LIVE_DB_POOL_TIMEOUT="0.05")
    outcomes = asyncio.run(_open_all(base, tickets))
    unexpected = sorted({o for o in outcomes if o not in ("hello", "closed 1013")})
    assert unexpected == []
    log = "".join(p.read_text() for p in servers.tmp_path.glob("server-*.log"))
    refused = outcomes.count("closed 1013")
    assert log.count("realtime connect refused") == refused


async def _hold(base: str, tickets: list[str], pid: int) -> list[int]:
    """Open the sockets in two halves; the server's open files before, after the first half, after the second."""
    held = []

    async def one(ticket: str) -> None:
        ws = await connect(f"{base}/ws/?ticket={ticket}", origin="http://localhost", open_timeout=120)
        assert json.loads(await ws.recv())["type"] == "hello"
        held.append(ws)

    half = len(tickets) // 2
    counts = [len(os.listdir(f"/proc/{pid}/fd"))]
    for part in (tickets[:half], tickets[half:]):
        await asyncio.gather(*(one(t) for t in part))
        await asyncio.sleep(0.5)  # let the last presence writes finish (a count, not a timing)
        counts.append(len(os.listdir(f"/proc/{pid}/fd")))
    for ws in held:
        await ws.close()
    return counts


def test_a_socket_costs_the_server_one_open_file_not_a_redis_connection_of_its_own(servers, redis_url):
    """Presence lives in the Redis cache. Each socket used to get a cache client of its own (Django's cache
    handler is per asyncio context) and keep its Redis connection open: 10,000 sockets were 20,000 open files
    and 10,000 Redis clients, past Redis's default maxclients."""
    tickets = _tickets(120)
    base = servers.start(DOCENT_LIVE_REDIS_URL=redis_url, DOCENT_LIVE_LAYER_PREFIX=f"burst-{os.getpid()}")
    _before, first_half, second_half = asyncio.run(_hold(base, tickets, servers.processes[-1].pid))
    # The second 60 sockets reuse what the first 60 opened (pools, the hub's channel): one file each, plus slack.
    assert second_half - first_half < 60 * 1.5
