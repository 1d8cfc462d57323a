"""Visitor sockets against a real server (apps.chat.tests.conftest): a connect the server cannot serve (its
database or channel layer fails or is short of connections) is refused with close code 1013 (try again later),
never an HTTP 500 at the handshake; and a visitor socket costs the server one open file, not one more for a
Redis connection of its own."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import secrets

import pytest
from django.db import connection
from websockets.asyncio.client import ClientConnection, connect

from apps.chat.tests.conftest import Open, database_json, first_frames, open_files_holding, server_log
from apps.chatbot.tests.factories import ChatbotFactory
from apps.widget.models import Visitor
from apps.widget.tests.conftest import SHOP
from apps.widget.tokens import visitor_token_issue

pytestmark = pytest.mark.django_db(transaction=True)


def _opens(base: str, count: int) -> list[Open]:
    """`count` visitors of a bot embedded on the shop's site, each opening the socket from the shop's page with
    a visitor token of its own (as a session issues them)."""
    bot = ChatbotFactory(allowed_origins=[SHOP])
    visitors = Visitor.objects.bulk_create(
        [
            Visitor(
                organization=bot.organization,
                bot=bot,
                public_id=f"v_{secrets.token_hex(8)}",
                resume_hash=secrets.token_hex(32),
            )
            for _ in range(count)
        ]
    )
    tokens = [
        visitor_token_issue(
            bot_id=bot.pk,
            organization_id=bot.organization_id,
            visitor_id=v.public_id,
            origin=SHOP,
            publishable_key=bot.publishable_key,
            verified=False,
        )[0]
        for v in visitors
    ]
    url = f"{base}/ws/widget/"
    return [
        functools.partial(connect, url, origin=SHOP, subprotocols=["docent.visitor", t], open_timeout=120)
        for t in tokens
    ]


def test_a_visitor_connect_while_the_database_is_away_is_refused_with_1013_never_a_500(servers):
    """Every read of the connect fails (the server's database does not exist): each visitor gets 1013, on which
    the widget reconnects later with the token it has; it used to get an HTTP 500, which tells it nothing."""
    away = database_json(NAME=f"{connection.settings_dict['NAME']}_away")
    base = servers.start(DOCENT_LIVE_DATABASE=away)
    outcomes = asyncio.run(first_frames(_opens(base, 150)))
    assert outcomes == ["closed 1013"] * 150
    assert server_log(servers).count("realtime connect refused with 1013 on /ws/widget/") == 150


async def _hello_and_a_frame(ws: ClientConnection) -> None:
    assert json.loads(await ws.recv())["type"] == "hello"
    await ws.send(json.dumps({"type": "ping"}))  # a frame: the token and the origin are checked again
    assert json.loads(await ws.recv())["type"] == "pong"


def test_a_visitor_socket_costs_the_server_one_open_file_not_a_redis_connection_of_its_own(servers, redis_url):
    """What a visitor socket checks, at connect and on every frame (the token, the origin, the bot), reads no
    cache: Django's cache client is one per asyncio context under ASGI, and each socket is a context of its own,
    so a cache read there would keep a Redis connection (one more open file) per socket, as presence did on the
    members' socket (ADR 0071)."""
    base = servers.start(DOCENT_LIVE_REDIS_URL=redis_url, DOCENT_LIVE_LAYER_PREFIX=f"widget-{os.getpid()}")
    opens = _opens(base, 120)
    _before, first_half, second_half = asyncio.run(
        open_files_holding(opens, servers.processes[-1].pid, _hello_and_a_frame)
    )
    # The second 60 sockets reuse what the first 60 opened (the layer's connections): one file each, plus what the
    # pools may still open when the burst is slow (a loaded machine holds more connects at once: at most 10 database
    # and 32 idle Redis connections). A Redis connection of each socket's own would make it two files a socket.
    assert second_half - first_half < 60 * 2
