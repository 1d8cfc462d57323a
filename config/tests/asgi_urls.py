"""Views for the tests of the HTTP side of config.asgi (config/tests/test_asgi_handler.py)."""

import threading

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import include, path

from common.security.csp import csp_override

threads_seen: list[int] = []


def noop(request: HttpRequest) -> HttpResponse:
    threads_seen.append(threading.get_ident())
    return HttpResponse("ok")


@csp_override({"script-src": ["'self'", "https://cdn.example"]})
def widened(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError("connection refused")


async def _three_parts():
    for part in (b"one ", b"two ", b"three"):
        yield part


def sync_stream(request: HttpRequest) -> StreamingHttpResponse:
    """Like the chat's SSE view under ASGI: a sync view handing back an async stream."""
    threads_seen.append(threading.get_ident())
    return StreamingHttpResponse(_three_parts(), content_type="text/event-stream")


async def async_stream(request: HttpRequest) -> StreamingHttpResponse:
    threads_seen.append(threading.get_ident())
    return StreamingHttpResponse(_three_parts(), content_type="text/event-stream")


urlpatterns = [
    path("t/noop", noop),
    path("t/widened", widened),
    path("t/database-down", database_down),
    path("api/v1/t/database-down", database_down),
    path("t/sync-stream", sync_stream),
    path("t/async-stream", async_stream),
    path("", include("config.urls")),
]
