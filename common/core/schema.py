"""OpenAPI: the common error format as one `Error` component, declared on every operation where it can occur.

`ErrorResponsesAutoSchema` adds 400/401/403/404/415/429 from what the view is (authenticated, organization
scoped, with a body, parameters or throttles); a view declares the rarer ones it raises (409, 413, 502 ...)
with `error_responses(...)` in its `extend_schema(responses=...)`. A declared error without a body gets the
`Error` body.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    400: "Invalid input (`validation_error` with the field errors in `details`, `parse_error`) or another "
    "refusal of the request as sent, such as `organization_required`.",
    401: "Not signed in, or the token or API key is invalid, expired or revoked (`authentication_failed`, "
    "`not_authenticated`).",
    403: "The role or the API key's scope does not allow this (`permission_denied`; `details.missing_scope`, "
    "`details.restricted`, `details.reason`).",
    404: "No such object in the current organization (`not_found`), or an unknown organization.",
    409: "The request conflicts with the current state (`conflict` or a more precise code).",
    413: "The request or one of its files is too large (`request_too_large`, `document_too_large`).",
    415: "The request body's media type or the file's content type is not supported.",
    429: "Too many requests (`rate_limited`, `Retry-After`) or a quota is used up (`quota_exceeded`).",
    502: "The model provider failed (`provider_*`); `details` names the conversation and messages.",
    503: "The model provider or a service the request needs is unavailable.",
    504: "The model provider timed out (`provider_timeout`).",
}


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable, machine-readable code.")
    message = serializers.CharField(help_text="For people.")
    details = serializers.DictField(help_text="Field errors or extra facts (a missing scope, a retry delay).")


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error answer of the API: `{"error": {"code", "message", "details"}}`."""

    error = ErrorDetailSerializer()


def sse_event_schema(events: list[str], data_description: str) -> dict[str, Any]:
    """One Server-Sent Event as OpenAPI 3.0 can say it: its name, and its `data` line (JSON text)."""
    return {
        "type": "object",
        "properties": {
            "event": {"type": "string", "enum": events},
            "data": {"type": "string", "description": data_description},
        },
        "required": ["event", "data"],
    }


def sse_events_declare(
    auto_schema: AutoSchema, operation: dict[str, Any], events: dict[str, Any], description: str
) -> None:
    """On the operation's 2xx `text/event-stream` answers: the event names and, in `x-sse-events`, the component
    of each event's data (`events` maps each name to its serializer)."""
    refs = {name: auto_schema.resolve_serializer(serializer, "response").ref for name, serializer in events.items()}
    for code, response in operation.get("responses", {}).items():
        stream = response.get("content", {}).get("text/event-stream")
        if stream is not None and str(code).startswith("2"):
            stream["schema"] = sse_event_schema(list(events), description)
            stream["x-sse-events"] = refs


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses={..., **error_responses(409)})` for the errors a view raises itself."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in codes}


class ErrorResponsesAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
        for code, response in responses.items():
            if str(code).isdigit() and int(code) >= 400 and "content" not in response:
                # Errors declared with a body keep it (the OpenAI-compatible door has OpenAI's own shape).
                response["content"] = self._error_content()
        return operation

    def _error_codes(self, operation: dict[str, Any]) -> list[int]:
        view = self.view
        codes: set[int] = set()
        organization_scoped = hasattr(view, "required_roles")
        authenticated = bool(getattr(view, "authentication_classes", None))
        has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
        if "requestBody" in operation:
            codes |= {400, 413, 415}  # 413: a form body over DATA_UPLOAD_MAX_MEMORY_SIZE
        if has_query or organization_scoped:
            codes.add(400)  # organization_required: several memberships and no X-Organization
        if authenticated:
            codes |= {401, 403}  # 403 also for API keys on endpoints that refuse them
        if organization_scoped or "{" in self.path:
            codes.add(404)  # an X-Organization naming an organization the caller is not a member of
        if getattr(view, "throttle_classes", None):
            codes.add(429)
        return sorted(codes)

    def _error_content(self) -> dict[str, Any]:
        """Errors come as JSON, or in the view's other media types (Server-Sent Events: one `error` event)."""
        component = self.resolve_serializer(ErrorSerializer, "response")
        content: dict[str, Any] = {"application/json": {"schema": component.ref}}
        for media_type in self.map_renderers("media_type"):
            if media_type == "text/event-stream":
                content[media_type] = {"schema": sse_event_schema(["error"], "The `ErrorDetail` object as JSON.")}
        return content
