"""Adds X-RateLimit-* (and Retry-After on refusals) to every API-key response, and counts error responses.

Works in both sync and async stacks, so it never forces async views (streaming answers) onto a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from apps.api_keys.authentication import ADMISSION_ATTR, REQUEST_ATTR
from apps.api_keys.limits import Admission
from apps.api_keys.metering import record_error

logger = logging.getLogger(__name__)


def _decorate(request: HttpRequest, response: HttpResponse) -> Any:
    """Set the headers; return the principal when an error response must be counted."""
    principal = getattr(request, REQUEST_ATTR, None)
    if principal is None:
        return None
    admission: Admission | None = getattr(request, ADMISSION_ATTR, None)
    if admission is not None:
        if admission.limit > 0:
            response["X-RateLimit-Limit"] = str(admission.limit)
            response["X-RateLimit-Remaining"] = str(admission.remaining)
            response["X-RateLimit-Reset"] = str(admission.reset_at)
        if not admission.admitted and not response.has_header("Retry-After"):
            response["Retry-After"] = str(admission.retry_after)
    return principal if response.status_code >= 400 else None


def _count_error(principal: Any) -> None:
    try:
        record_error(request_auth=principal)
    except Exception:  # metering must never turn an answer into a crash
        logger.warning("could not count an API-key error response", exc_info=True)


class APIKeyHeadersMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self.__acall__(request)
        response: HttpResponse = self.get_response(request)
        failed = _decorate(request, response)
        if failed is not None:
            _count_error(failed)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = await self.get_response(request)
        failed = _decorate(request, response)
        if failed is not None:
            await sync_to_async(_count_error, thread_sensitive=False)(failed)
        return response
