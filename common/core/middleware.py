"""Request id: taken from X-Request-ID when sane, otherwise generated; echoed back and put in logs. A page whose
database or Redis is down answers 503 "try again shortly" rather than the 500 page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from common.core.errors import unavailable_store_error

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class StoreUnavailableMiddleware:
    """Pages and other non-DRF views: an outage of the database or Redis is a 503 with Retry-After, like the API's
    (common.core.errors.unavailable_store_error), not a server error. The page is rendered without a request
    context, so that it needs neither the database nor the session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        error = unavailable_store_error(exception)
        if error is None:
            return None
        response: HttpResponse
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            body = {"error": {"code": error.code, "message": error.message, "details": {}}}
            response = JsonResponse(body, status=error.status_code)
        else:
            response = HttpResponse(render_to_string("503.html", {"message": error.message}), status=503)
        response["Retry-After"] = str(error.retry_after)
        return response
