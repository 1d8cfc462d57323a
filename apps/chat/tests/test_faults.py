"""Faults over real servers: an ASGI server restart and a Redis restart lose no stored message; clients
reconnect (or stay connected) and catch up in order, without gaps or duplicates."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from apps.chat.tests.conftest import free_port
from apps.chat.tests.test_end_to_end import _frame, _open, _send

pytestmark = pytest.mark.django_db(transaction=True)


def _group(owner, *others) -> str:
    response = owner.post(
        "/api/v1/rooms", {"kind": "group", "title": "Ops", "user_ids": [str(o.user.pk) for o in others]}, format="json"
    )
    return str(response.json()["id"])


def test_a_server_restart_loses_no_message_and_the_client_resumes_without_gaps(
    servers, organization, make_member_client
):
    alice_client, bob_client = make_member_client(organization), make_member_client(organization)
    room = _group(alice_client, bob_client)
    first = servers.start()
    sockets = ExitStack()
    alice, _ = _open(sockets, first, alice_client)
    bob, _ = _open(sockets, first, bob_client)
    _send(alice, type="send", ref=1, conversation=room, text="one", client_msg_id="a1")
    assert _frame(bob)["message"]["seq"] == 1

    servers.stop()  # the server goes away with both sockets; alice carries on over REST meanwhile
    sockets.close()
    for text in ("two", "three"):
        assert alice_client.post(f"/api/v1/rooms/{room}/messages", {"text": text}, format="json").status_code == 201

    second = servers.start()
    sockets = ExitStack()
    bob, hello = _open(sockets, second, bob_client)
    assert hello["conversations"] == {room: 3}
    _send(bob, type="resume", ref="r", conversations={room: 1})
    assert [(f["message"]["seq"], f["message"]["text"]) for f in (_frame(bob), _frame(bob))] == [
        (2, "two"),
        (3, "three"),
    ]
    assert _frame(bob) == {"type": "resumed", "ref": "r", "conversations": {room: 3}}
    alice, _ = _open(sockets, second, alice_client)
    _send(alice, type="send", ref=4, conversation=room, text="four", client_msg_id="a4")
    assert _frame(bob)["message"]["seq"] == 4  # live again, nothing repeated
    sockets.close()


class PrivateRedis:
    """A redis-server of this test's own on a free port, so that restarting it disturbs nobody else."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: a Redis restart needs a Redis of the test's own to restart")
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def test_a_redis_restart_loses_no_message_and_the_rooms_ring_again(
    servers, private_redis, organization, make_member_client
):
    shared = {
        "DOCENT_LIVE_REDIS_URL": private_redis.url,
        "DOCENT_LIVE_LAYER_PREFIX": f"docent-f-{uuid.uuid4().hex[:8]}",
    }
    first, second = servers.start(**shared), servers.start(**shared)
    alice_client, bob_client = make_member_client(organization), make_member_client(organization)
    room = _group(alice_client, bob_client)
    sockets = ExitStack()
    alice, _ = _open(sockets, first, alice_client)
    bob, _ = _open(sockets, second, bob_client)
    _send(alice, type="send", ref=1, conversation=room, text="before", client_msg_id="a1")
    assert _frame(bob)["message"]["seq"] == 1

    private_redis.stop()
    _send(alice, type="send", ref=2, conversation=room, text="while Redis is down", client_msg_id="a2")
    assert _frame(alice, skip=("presence", "message.new"))["type"] == "ack"  # stored: the doorbell is not needed
    private_redis.start()  # an empty Redis: every group membership is gone
    time.sleep(3)  # the servers' hubs notice and join their groups again

    _send(alice, type="send", ref=3, conversation=room, text="after", client_msg_id="a3")
    got = [_frame(bob, skip=("presence",)) for _ in range(2)]
    assert [(f["message"]["seq"], f["message"]["text"]) for f in got] == [(2, "while Redis is down"), (3, "after")]
    sockets.close()
