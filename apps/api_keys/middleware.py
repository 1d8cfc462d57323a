"""Adds X-RateLimit-* (and Retry-After on refusals) to every API-key response, and counts error responses."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.api_keys.authentication import ADMISSION_ATTR, REQUEST_ATTR
from apps.api_keys.limits import Admission
from apps.api_keys.metering import record_error


class APIKeyHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        principal = getattr(request, REQUEST_ATTR, None)
        if principal is None:
            return response
        admission: Admission | None = getattr(request, ADMISSION_ATTR, None)
        if admission is not None:
            if admission.limit > 0:
                response["X-RateLimit-Limit"] = str(admission.limit)
                response["X-RateLimit-Remaining"] = str(admission.remaining)
                response["X-RateLimit-Reset"] = str(admission.reset_at)
            if not admission.admitted and not response.has_header("Retry-After"):
                response["Retry-After"] = str(admission.retry_after)
        if response.status_code >= 400:
            record_error(request_auth=principal)
        return response
