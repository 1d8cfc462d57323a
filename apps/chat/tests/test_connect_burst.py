"""Many sockets opening at once against a real server: when its database pool runs short, every handshake is
still answered with the WebSocket, a connect that cannot be served is refused with close code 1013 (try again
later), and none gets an HTTP 500; and a socket costs the server one open file, not one more per Redis
connection of its own."""

from __future__ import annotations

import asyncio
import functools
import json
import os
from datetime import timedelta

import pytest
from django.utils import timezone
from websockets.asyncio.client import ClientConnection, connect

from apps.chat.models import RealtimeTicket
from apps.chat.services import TICKET_PREFIX
from apps.chat.tests.conftest import Open, first_frames, open_files_holding, server_log
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


def _opens(base: str, tickets: list[str]) -> list[Open]:
    return [
        functools.partial(connect, f"{base}/ws/?ticket={t}", origin="http://localhost", open_timeout=120)
        for t in tickets
    ]


def test_a_burst_of_connects_on_a_short_database_pool_is_refused_with_1013_never_a_500(servers):
    tickets = _tickets(SOCKETS)
    # One pooled connection lent for at most 50 ms: most of a simultaneous burst finds none.
    base = servers.start(DOCENT_LIVE_DB_POOL="1", DOCENT_LIVE_DB_POOL_TIMEOUT="0.05")
    outcomes = asyncio.run(first_frames(_opens(base, tickets)))
    unexpected = sorted({o for o in outcomes if o not in ("hello", "closed 1013")})
    assert unexpected == []
    refused = outcomes.count("closed 1013")
    assert server_log(servers).count("realtime connect refused") == refused


async def _hello(ws: ClientConnection) -> None:
    assert json.loads(await ws.recv())["type"] == "hello"


def test_a_socket_costs_the_server_one_open_file_not_a_redis_connection_of_its_own(servers, redis_url):
    """Presence lives in the Redis cache. Each socket used to get a cache client of its own (Django's cache
    handler is per asyncio context) and keep its Redis connection open: 10,000 sockets were 20,000 open files
    and 10,000 Redis clients, past Redis's default maxclients."""
    tickets = _tickets(120)
    base = servers.start(DOCENT_LIVE_REDIS_URL=redis_url, DOCENT_LIVE_LAYER_PREFIX=f"burst-{os.getpid()}")
    _before, first_half, second_half = asyncio.run(
        open_files_holding(_opens(base, tickets), servers.processes[-1].pid, _hello)
    )
    # The second 60 sockets reuse what the first 60 opened (the hub's channel, the pools): one file each, plus what
    # the pools grow by when more of the second half's connects overlap than the first's did (32 once, on a fast
    # connect path). A Redis client per socket would be two files each: 120 and more.
    assert second_half - first_half < 60 * 2
