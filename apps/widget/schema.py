"""OpenAPI of the widget door: its own error descriptions, and the send operation's Server-Sent Events."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse

from apps.widget import serializers
from common.core.schema import ERROR_DESCRIPTIONS, ErrorResponsesAutoSchema, ErrorSerializer, sse_events_declare

WIDGET_ERRORS = {
    **ERROR_DESCRIPTIONS,
    401: "No valid visitor token (`invalid_visitor_token`, `visitor_token_expired`), or the identity the site "
    "signed is missing or not valid (`identity_required`, `invalid_identity`).",
    403: "The page's origin may not use this bot (`origin_not_allowed`), or the token belongs to another bot "
    "(`wrong_bot`).",
    404: "No bot has this key (`unknown_bot`), or no such message in the visitor's conversations.",
    429: "Too many requests (`rate_limited`) or the bot's daily budget is spent (`budget_exhausted`); "
    "`details.retry_after` and the Retry-After header give the seconds to wait.",
}


def widget_errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=WIDGET_ERRORS[code]) for code in codes}


class WidgetAutoSchema(ErrorResponsesAutoSchema):
    """Widget operations declare their errors themselves (they authenticate outside DRF)."""

    def _error_codes(self, operation: dict[str, Any]) -> list[int]:
        return []


SSE = "text/event-stream"
EVENTS = {
    "message": serializers.WidgetMessageSerializer,
    "token": serializers.SendTokenEventSerializer,
    "citations": serializers.SendCitationsEventSerializer,
    "done": serializers.SendDoneEventSerializer,
    "error": serializers.SendErrorEventSerializer,
}
SEND_DESCRIPTION = """\
Idempotent on `client_msg_id`. While the bot answers, the response is a stream of Server-Sent Events:

- `message` (`WidgetMessage`): the visitor's message as stored (its `seq`).
- `token` (`{"text"}`): the next piece of the answer; zero or more.
- `citations` (`{"citations": [...]}`): the passages the answer cites (document title, page, snippet, url).
- `done` (`{"message", "offer_handoff", "duplicate"}`): the stored answer; the last event.
- `error` (`{"code", "message"}`): the answer failed after the stream began; the last event.

A resend of a `client_msg_id` already stored gets `message` and, if the answer exists, `done` with
`duplicate: true`, and nothing is answered twice. While a person holds the conversation (state `waiting` or
`with_agent`) the bot stays silent: 202 with the stored message and the state. Refusals (400 message too long,
429, 401, 403) are JSON in the common error format and store nothing.
"""


class WidgetSendSchema(WidgetAutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        sse_events_declare(self, operation, EVENTS, "The event's JSON object (`x-sse-events`).")
        for code, response in operation.get("responses", {}).items():
            if not str(code).startswith("2"):
                response.get("content", {}).pop(SSE, None)  # refusals are always JSON on this door
        return operation
