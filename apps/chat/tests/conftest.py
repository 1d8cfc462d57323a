"""Fixtures of the chat tests that run real servers: uvicorn processes serving config.asgi on the test's
database (apps.chat.tests.live_settings), and what the socket tests of the members' and the widget's sockets
measure on them (apps.widget's tests use them too)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_json(**override: Any) -> str:
    """The test's database for DOCENT_LIVE_DATABASE, with `override` (another NAME: a database that is away)."""
    keys = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    return json.dumps(
        {**{key: connection.settings_dict.get(key) for key in keys if key in connection.settings_dict}, **override}
    )


class Servers:
    """Starts uvicorn processes serving config.asgi on free loopback ports, with this test's settings and
    database; stops them at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, **extra_env: str) -> str:
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "apps.chat.tests.live_settings",
            "DOCENT_LIVE_DATABASE": database_json(),
            **extra_env,
        }
        log_path = self.tmp_path / f"server-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "config.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--timeout-graceful-shutdown",  # sockets still open at the end do not hold the test up
                    "5",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        deadline = time.monotonic() + 60  # start-up, not a measurement: give up rather than hang
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return f"ws://127.0.0.1:{port}"
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


@pytest.fixture
def servers(db, tmp_path) -> Iterator[Servers]:
    started = Servers(tmp_path)
    try:
        yield started
    finally:
        started.stop()
        connection.close()


@pytest.fixture
def server(servers) -> str:
    return servers.start()


Open = Callable[[], Any]  # a websockets `connect(...)` not yet awaited: one socket to open


async def first_frames(opens: list[Open]) -> list[str]:
    """Open the sockets at once; what each got first: its first frame's type, "closed <code>", or the
    handshake's failure (an HTTP 500 lands there)."""

    async def one(open_socket: Open) -> str:
        try:
            async with open_socket() as ws:
                try:
                    return str(json.loads(await ws.recv())["type"])
                except ConnectionClosed as closed:
                    return f"closed {closed.rcvd.code if closed.rcvd else None}"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

    return await asyncio.gather(*(one(o) for o in opens))


async def open_files_holding(
    opens: list[Open], pid: int, greet: Callable[[ClientConnection], Awaitable[None]]
) -> list[int]:
    """Open the sockets in two halves (each one `greet`ed: its hello read, frames exchanged) and keep them open;
    the server's open files before, after the first half, after the second."""
    held = []

    async def one(open_socket: Open) -> None:
        ws = await open_socket()
        await greet(ws)
        held.append(ws)

    half = len(opens) // 2
    counts = [len(os.listdir(f"/proc/{pid}/fd"))]
    for part in (opens[:half], opens[half:]):
        await asyncio.gather(*(one(o) for o in part))
        await asyncio.sleep(0.5)  # let the last writes the sockets started finish (a count, not a timing)
        counts.append(len(os.listdir(f"/proc/{pid}/fd")))
    for ws in held:
        await ws.close()
    return counts


def server_log(servers: Servers) -> str:
    return "".join(p.read_text() for p in servers.tmp_path.glob("server-*.log"))
