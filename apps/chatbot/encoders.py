"""Chat events in each transport's wire format: small pure functions, one per transport.

The answer pipeline yields typed events (apps.chatbot.services.answer); a door only picks its encoder:
Server-Sent Events frames for the REST stream, one JSON body for a REST client that did not ask for a
stream, JSON frames for WebSocket clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from apps.chatbot.services.answer import ChatEvent, CitationsEvent, DoneEvent, ErrorEvent, TokenEvent
from common.core.exceptions import error_body


def _payload(event: ChatEvent) -> tuple[str, dict[str, Any]]:
    """The event's name and data, the same for every transport."""
    if isinstance(event, TokenEvent):
        return "token", {"text": event.text}
    if isinstance(event, CitationsEvent):
        return "citations", {"citations": event.citations}
    if isinstance(event, DoneEvent):
        return "done", dict(event.data)
    if isinstance(event, ErrorEvent):
        return "error", {"code": event.code, "message": event.message, **event.data}
    raise TypeError(type(event).__name__)


def sse_frame(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def sse_encode(event: ChatEvent) -> bytes:
    """One Server-Sent Events frame: `event: token|citations|done|error` and its JSON data."""
    return sse_frame(*_payload(event))


def websocket_frame(event: ChatEvent, **context: Any) -> dict[str, Any]:
    """One WebSocket JSON message (for a consumer's send_json): `{"type": "chat.token", "text": ...}`.

    `context` (e.g. the conversation id, or the client's reference for the question) is merged into every
    frame so that a socket carrying several conversations can route each one; the event's own fields win.
    """
    name, data = _payload(event)
    return {**context, **data, "type": f"chat.{name}"}


@dataclass(frozen=True)
class CollectedAnswer:
    """A whole turn folded into one response: the status code and its JSON body."""

    status_code: int
    body: dict[str, Any]


def answer_collect(events: Iterable[ChatEvent]) -> CollectedAnswer:
    """Fold a turn's events into one JSON answer (tokens joined, citations, the done summary), or the error
    in the common error format with its status code."""
    answer: list[str] = []
    citations: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, TokenEvent):
            answer.append(event.text)
        elif isinstance(event, CitationsEvent):
            citations = event.citations
        elif isinstance(event, ErrorEvent):
            return CollectedAnswer(event.status_code, error_body(event.code, event.message, event.data))
        elif isinstance(event, DoneEvent):
            return CollectedAnswer(200, {**event.data, "answer": "".join(answer).strip(), "citations": citations})
    return CollectedAnswer(502, error_body("answer_failed", "The answer ended early."))
