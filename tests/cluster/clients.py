"""Clients of a running cluster: a WebSocket member (docs/realtime.md), a widget visitor (docs/widget.md) and an
SSE reader."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect


class Socket:
    """A WebSocket on one base URL (a replica, or the balancer), read frame by frame."""

    def __init__(self, ws_url: str, subprotocols: list[str], origin: str) -> None:
        self._open = contextlib.ExitStack()
        self.socket: ClientConnection = self._open.enter_context(
            connect(ws_url, subprotocols=subprotocols, origin=origin, open_timeout=15)  # type: ignore[arg-type]
        )
        self.hello = self.wait(lambda frame: frame["type"] == "hello")

    def send(self, frame: dict[str, Any]) -> None:
        self.socket.send(json.dumps(frame))

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


class Member(Socket):
    """One member's socket (docs/realtime.md)."""

    def __init__(self, base_url: str, jwt: str, organization: str) -> None:
        ws_url = base_url.replace("http://", "ws://") + f"/ws/?organization={organization}"
        super().__init__(ws_url, ["docent.v1", f"docent.jwt.{jwt}"], base_url)

    def say(self, room: str, text: str) -> dict[str, Any]:
        ref = uuid.uuid4().hex
        self.send({"type": "send", "ref": ref, "conversation": room, "text": text, "client_msg_id": ref})
        return self.wait(lambda frame: frame["type"] == "ack" and frame.get("ref") == ref)["message"]


class Visitor:
    """A widget visitor on a page of `origin` (docs/widget.md): a session opened through one base URL; its calls
    and sockets may go to any other, with the page's Origin and the visitor token."""

    def __init__(self, base_url: str, key: str, origin: str) -> None:
        self.origin = origin
        response = httpx.post(
            f"{base_url}/widget/v1/session", json={"key": key}, headers={"Origin": origin}, timeout=15
        )
        assert response.status_code == 200, response.text
        self.token = str(response.json()["token"])

    def post(self, base_url: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Origin": self.origin, "Authorization": f"Bearer {self.token}"}
        return httpx.post(f"{base_url}{path}", json=body or {}, headers=headers, timeout=15)

    def connect(self, base_url: str) -> Socket:
        ws_url = base_url.replace("http://", "ws://") + "/ws/widget/"
        return Socket(ws_url, ["docent.visitor", self.token], self.origin)


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a text/event-stream response, as they arrive."""
    event = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            yield event, json.loads(line[len("data: ") :])
