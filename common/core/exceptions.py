"""One error format for every API error: {"error": {"code", "message", "details"}}.

`api_exception_handler` is DRF's EXCEPTION_HANDLER; `json_400`/`json_404`/`json_500` are Django's handler400/404/500
so errors raised outside DRF (unknown URL, crash) keep the same shape under /api/.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import bad_request, page_not_found, server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.core.errors import DomainError, RateLimited

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "validation_error",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def _drf_code(exc: exceptions.APIException) -> str:
    for cls in type(exc).__mro__:
        if cls in _DRF_CODES:
            return _DRF_CODES[cls]
    code = exc.default_code if isinstance(exc.default_code, str) else "error"
    return code


def _suspicious_request(exc: SuspiciousOperation) -> tuple[int, dict[str, Any]]:
    """Django refuses some request bodies while parsing them (limits on size and field count): the same answer
    as its handler400 would give, in the common format."""
    if isinstance(exc, RequestDataTooBig):
        body = error_body("request_too_large", "The request body is larger than the server accepts.")
        return status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, body
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return status.HTTP_400_BAD_REQUEST, error_body("too_many_fields", "The request has too many fields or files.")
    return status.HTTP_400_BAD_REQUEST, error_body("bad_request", "The request was refused as malformed.")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SuspiciousOperation):
        refused_status, body = _suspicious_request(exc)
        return Response(body, status=refused_status)
    if isinstance(exc, DomainError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    handled = drf_exception_handler(exc, context)
    if handled is None:
        return None  # unexpected: Django's handler500 answers in the same format
    assert isinstance(exc, exceptions.APIException)
    code = _drf_code(exc)
    details: Any
    if isinstance(exc, exceptions.ValidationError):
        message = "Invalid input."
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    else:
        message = str(exc.detail) if not isinstance(exc.detail, list | dict) else str(exc.default_detail)
        details = {}
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            details = {"retry_after_seconds": int(wait)}
    handled.data = error_body(code, message, details)
    return handled


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/widget/")) or "application/json" in request.headers.get("Accept", "")


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("not_found", "Not found."), status=status.HTTP_404_NOT_FOUND)
    return page_not_found(request, exception or Http404())


def json_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        if isinstance(exception, SuspiciousOperation):
            code, body = _suspicious_request(exception)
        else:
            code, body = status.HTTP_400_BAD_REQUEST, error_body("bad_request", "The request was refused as malformed.")
        return JsonResponse(body, status=code)
    return bad_request(request, exception or SuspiciousOperation())


def json_500(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        body = error_body(
            "server_error",
            "An unexpected error occurred. It has been logged.",
            {"request_id": getattr(request, "request_id", None)},
        )
        return JsonResponse(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return server_error(request)
