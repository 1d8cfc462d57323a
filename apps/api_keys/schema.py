"""OpenAPI: the API-key security schemes, and each operation's required scope.

An operation lists the API-key schemes in its `security` only when its view declares a scope for it; it
then carries `x-required-scopes` and a line in its description naming the scope.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from apps.organizations.permissions import required_scope
from common.core.schema import ErrorResponsesAutoSchema

BEARER = "ApiKeyBearer"
HEADER = "ApiKeyHeader"


def _scope(auto_schema: AutoSchema) -> str | None:
    view = auto_schema.view
    if not hasattr(view, "required_scopes"):
        return None
    return required_scope(view, auto_schema.method)


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api_keys.authentication.APIKeyAuthentication"
    name = [BEARER, HEADER]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[Any]]]:
        if _scope(auto_schema) is None:
            return []
        return [{BEARER: []}, {HEADER: []}]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "dk_<prefix>_<secret>",
                "description": "API key in the Authorization header: `Authorization: Bearer dk_…`.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "API key in the X-API-Key header.",
            },
        ]


_RATE_HEADERS = {
    "X-RateLimit-Limit": ("integer", "Requests allowed per minute for the API key."),
    "X-RateLimit-Remaining": ("integer", "Requests left in the current minute."),
    "X-RateLimit-Reset": ("integer", "Unix time (seconds) when the current minute's window ends."),
}


def _header(kind: str, description: str) -> dict[str, Any]:
    return {"schema": {"type": kind}, "description": description}


class ScopedAutoSchema(ErrorResponsesAutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None or _scope(self) is None:
            return operation
        responses = operation.setdefault("responses", {})
        for code, response in responses.items():
            if str(code).startswith("2"):
                headers = response.setdefault("headers", {})
                for name, (kind, description) in _RATE_HEADERS.items():
                    headers.setdefault(name, _header(kind, f"{description} Sent when an API key is used."))
        responses.setdefault(
            "429",
            {
                "description": "Rate limit (code rate_limited) or quota (code quota_exceeded) exceeded.",
                "headers": {
                    "Retry-After": _header("integer", "Seconds to wait."),
                    **{name: _header(kind, description) for name, (kind, description) in _RATE_HEADERS.items()},
                },
                "content": self._error_content(),
            },
        )
        return operation

    def get_description(self) -> str:  # type: ignore[override]
        description = super().get_description() or ""
        scope = _scope(self)
        if scope is None:
            return description
        line = f"API keys need the scope `{scope}`."
        return f"{description}\n\n{line}" if description else line

    def get_extensions(self) -> dict[str, Any]:
        extensions = dict(super().get_extensions() or {})
        scope = _scope(self)
        if scope is not None:
            extensions["x-required-scopes"] = [scope]
        return extensions
