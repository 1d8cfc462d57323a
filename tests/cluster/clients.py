"""Clients of a running cluster: a WebSocket member (docs/realtime.md) and an SSE reader."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect


class Member:
    """One member's socket on one base URL (a replica, or the balancer)."""

    def __init__(self, base_url: str, jwt: str, organization: str) -> None:
        ws_url = base_url.replace("http://", "ws://") + f"/ws/?organization={organization}"
        self._open = contextlib.ExitStack()
        self.socket: ClientConnection = self._open.enter_context(
            connect(ws_url, subprotocols=["docent.v1", f"docent.jwt.{jwt}"], origin=base_url, open_timeout=15)  # type: ignore[list-item,arg-type]
        )
        self.hello = self.wait(lambda frame: frame["type"] == "hello")

    def send(self, frame: dict[str, Any]) -> None:
        self.socket.send(json.dumps(frame))

    def say(self, room: str, text: str) -> dict[str, Any]:
        ref = uuid.uuid4().hex
        self.send({"type": "send", "ref": ref, "conversation": room, "text": text, "client_msg_id": ref})
        return self.wait(lambda frame: frame["type"] == "ack" and frame.get("ref") == ref)["message"]

    def wait(self, matches: Callable[[dict[str, Any]], bool], timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching frame within {timeout:g} s")
            frame = json.loads(self.socket.recv(timeout=remaining))
            if matches(frame):
                return dict(frame)

    def close(self) -> None:
        self._open.close()


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a text/event-stream response, as they arrive."""
    event = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            yield event, json.loads(line[len("data: ") :])
