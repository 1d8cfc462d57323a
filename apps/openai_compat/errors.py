"""OpenAI's error shape for the /openai/v1 door: `{"error": {"message", "type", "param", "code"}}`.

This prefix alone answers in OpenAI's format so that OpenAI clients raise their own typed errors
(docs/adr/0050-openai-compatible-door.md); every other API keeps Docent's common error format.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

from common.core.errors import (
    DomainError,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
    unavailable_store_error,
)

logger = logging.getLogger(__name__)


class CompletionInvalid(ValidationFailed):
    """A chat completion request OpenAI's API would refuse with 400: names the parameter and an OpenAI-style code."""

    def __init__(self, message: str, *, param: str | None, code: str = "invalid_value") -> None:
        super().__init__(message, details={"param": param})
        self.code = code
        self.param = param


class ModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, model: Any) -> None:
        super().__init__(f"The model `{model}` does not exist or you do not have access to it.")


def openai_error_body(*, message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _type_for(status: int) -> str:
    if status == 403:
        return "permission_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def domain_error_body(error: DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, OpenAI-shaped body and extra headers for a Docent domain error."""
    status, headers = error.status_code, {}
    param = getattr(error, "param", None)
    code, type_ = error.code, _type_for(status)
    if isinstance(error, ModelNotFound):
        param = "model"
    elif isinstance(error, QuotaExceeded):
        code = type_ = "insufficient_quota"
        # A used-up quota does not come back in seconds: OpenAI's SDKs honour this and do not retry.
        headers["x-should-retry"] = "false"
    elif isinstance(error, RateLimited):
        code, type_ = "rate_limit_exceeded", "requests"
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, ServiceUnavailable):
        headers["Retry-After"] = str(error.retry_after)
    elif status == 403 and error.details.get("restricted") == "bot":
        param = "model"
    elif isinstance(error, ValidationFailed) and param is None and error.details:
        param = next(iter(error.details))
    return status, openai_error_body(message=error.message, type_=type_, code=code, param=param), headers


def _drf_error(exc: exceptions.APIException) -> tuple[int, str | None, str, str | None]:
    """Status, code, message and param for one of DRF's own exceptions."""
    status = exc.status_code
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        message = str(exc.detail) if isinstance(exc, exceptions.AuthenticationFailed) else "No API key provided."
        return 401, "invalid_api_key", message, None
    if isinstance(exc, exceptions.ValidationError):
        param, message = _first_problem(exc.detail)
        return 400, "invalid_value", f"Invalid value for `{param}`: {message}" if param else message, param or None
    if isinstance(exc, exceptions.ParseError):
        return 400, "invalid_json", "The request body is not valid JSON.", None
    codes = {
        exceptions.PermissionDenied: "permission_denied",
        exceptions.NotFound: "not_found",
        exceptions.MethodNotAllowed: "method_not_allowed",
        exceptions.UnsupportedMediaType: "unsupported_media_type",
        exceptions.Throttled: "rate_limit_exceeded",
    }
    code = next((value for cls, value in codes.items() if isinstance(exc, cls)), None)
    detail = exc.detail if isinstance(exc.detail, str) else exc.default_detail
    return status, code, str(detail), None


def _first_problem(detail: Any, path: str = "") -> tuple[str, str]:
    """The first invalid field as a dotted path (messages[2].content) and its message."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) or str(key).isdigit():  # an item of a list of objects
                return _first_problem(value, f"{path}[{key}]")
            name = "" if key == "non_field_errors" else str(key)
            return _first_problem(value, f"{path}.{name}" if path and name else (name or path))
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list) and value:
                inner = f"{path}[{index}]" if isinstance(value, dict) else path
                return _first_problem(value, inner)
            if value:
                return path, str(value)
    return path, str(detail)


def openai_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's exception handler for the /openai/v1 views: every error in OpenAI's shape."""
    headers: dict[str, str] = {}
    exc = unavailable_store_error(exc) or exc
    if isinstance(exc, DomainError):
        status, body, headers = domain_error_body(exc)
    else:
        if isinstance(exc, Http404):
            exc = exceptions.NotFound()
        elif isinstance(exc, PermissionDenied):
            exc = exceptions.PermissionDenied()
        if isinstance(exc, exceptions.APIException):
            status, code, message, param = _drf_error(exc)
            body = openai_error_body(message=message, type_=_type_for(status), code=code, param=param)
            wait = getattr(exc, "wait", None)
            if isinstance(exc, exceptions.Throttled) and wait is not None:
                headers["Retry-After"] = str(int(wait))
            authenticate = getattr(exc, "auth_header", None)
            if authenticate:
                headers["WWW-Authenticate"] = authenticate
        else:
            logger.exception("the OpenAI-compatible API failed", exc_info=exc)
            status = 500
            body = openai_error_body(
                message="An unexpected error occurred. It has been logged.", type_="server_error", code="server_error"
            )
    response = Response(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt  # clients send keys, not cookies: answer them 404, not a CSRF refusal
def unknown_url(request: HttpRequest) -> JsonResponse:
    """Any other URL under /openai/v1: 404 in OpenAI's shape."""
    message = f"Unknown request URL: {request.method} {request.path}."
    body = openai_error_body(message=message, type_="invalid_request_error", code="unknown_url")
    return JsonResponse(body, status=404)
