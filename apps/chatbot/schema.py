"""OpenAPI of the chat operation: its Server-Sent Events, which OpenAPI cannot type, described in words and with
one component schema per event's data (`x-sse-events` maps each event name to it)."""

from __future__ import annotations

from typing import Any

from apps.api_keys.schema import ScopedAutoSchema
from apps.chatbot.serializers import (
    ChatCitationsEventSerializer,
    ChatDoneEventSerializer,
    ChatErrorEventSerializer,
    ChatTokenEventSerializer,
)
from common.core.schema import sse_events_declare

EVENTS = {
    "token": ChatTokenEventSerializer,
    "citations": ChatCitationsEventSerializer,
    "done": ChatDoneEventSerializer,
    "error": ChatErrorEventSerializer,
}
CHAT_DESCRIPTION = """\
JSON by default. With `Accept: text/event-stream` the answer streams as Server-Sent Events, each an `event:`
line and a `data:` line holding one JSON object (its schema is the component that `x-sse-events` names for the
event), in this order:

- `token` (`ChatTokenEvent`, `{"text"}`): the next piece of the answer; zero or more.
- `citations` (`ChatCitationsEvent`, `{"citations": [...]}`): the passages the answer cites; once.
- `done` (`ChatDoneEvent`): the ids of the conversation and both messages, `status`, `model`, `usage`,
  `latency_ms`; the last event of a turn that succeeded.
- `error` (`ChatErrorEvent`, `{"code", "message", ...}`): the last event of a turn that failed, after any
  tokens already sent, with the saved turn's ids (the stream's status stays 200). A request refused before
  the turn starts (400, 403, 404, 429 ...) gets one `error` event with that status and `details`.
"""


class ChatSchema(ScopedAutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        sse_events_declare(self, operation, EVENTS, "The event's JSON object: the component named in `x-sse-events`.")
        return operation
