"""The production channel layer while Redis is away: nothing fails, sockets wait, and groups are joined again."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from common.core.channel_layer import ResilientRedisChannelLayer
from config.embedded import ensure_binary, redis_answers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Redis:
    """A throwaway redis-server without persistence: a restart loses everything, like a failover that lagged."""

    def __init__(self) -> None:
        binary = ensure_binary("redis-server", "redis-server")
        if binary is None:
            pytest.fail("These tests need redis-server (apt-get install redis-server).")
        self.binary, self.port = binary, _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not redis_answers(self.url):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis_server() -> Iterator[Redis]:
    server = Redis()
    server.start()
    yield server
    server.kill()


def _run(coroutine: Any) -> Any:
    """In a thread of its own: the suite's browser tests keep an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result(timeout=60)


def test_sending_and_joining_while_redis_is_down_neither_fails_nor_blocks():
    _run(_down())


async def _down() -> None:
    layer = ResilientRedisChannelLayer(hosts=[f"redis://127.0.0.1:{_free_port()}/0"])
    channel = await layer.new_channel()

    await asyncio.wait_for(layer.group_add("room-1", channel), timeout=10)
    await asyncio.wait_for(layer.group_send("room-1", {"type": "ring"}), timeout=10)
    await asyncio.wait_for(layer.send(channel, {"type": "ring"}), timeout=10)

    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(1)
    assert not receiving.done(), "a receive waits for Redis instead of failing the consumer"
    receiving.cancel()
    await layer.group_discard("room-1", channel)
    assert channel not in layer.memberships


def test_a_socket_open_across_a_redis_restart_that_lost_its_data_is_rung_again(redis_server):
    _run(_restart(redis_server))


async def _restart(redis_server: Redis) -> None:
    layer = ResilientRedisChannelLayer(hosts=[redis_server.url])
    channel = await layer.new_channel()
    await layer.group_add("room-1", channel)

    redis_server.kill()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.5)
    redis_server.start()  # empty: the group's membership is gone from Redis

    async def ring_until_received() -> Any:
        while not receiving.done():
            await layer.group_send("room-1", {"type": "ring", "seq": 7})
            await asyncio.sleep(0.3)
        return await receiving

    message = await asyncio.wait_for(ring_until_received(), timeout=15)
    assert message == {"type": "ring", "seq": 7}
    await layer.flush()
