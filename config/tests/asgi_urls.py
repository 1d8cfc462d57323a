"""Views for the tests of the HTTP side of config.asgi (config/tests/test_asgi_handler.py)."""

import io
import threading

from django.db import OperationalError
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import include, path

from common.security.csp import csp_override

threads_seen: list[int] = []
opened: list[io.BytesIO] = []  # the files the large-file view handed out


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


LARGE_FILE = bytes(range(256)) * 4096 * 3  # 3 MiB


def large_file(request: HttpRequest) -> FileResponse:
    """Like a document's original file: a FileResponse over an open file."""
    threads_seen.append(threading.get_ident())
    opened.append(io.BytesIO(LARGE_FILE))
    return FileResponse(opened[-1], content_type="application/octet-stream")


urlpatterns = [
    path("t/noop", noop),
    path("t/widened", widened),
    path("t/database-down", database_down),
    path("api/v1/t/database-down", database_down),
    path("t/sync-stream", sync_stream),
    path("t/async-stream", async_stream),
    path("t/large-file", large_file),
    path("", include("config.urls")),
]
