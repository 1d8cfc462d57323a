"""The HTTP side of config.asgi (what uvicorn serves): Django's middleware chain and a sync view cross to a request
thread once, the threads are used again, and everything the middleware adds still arrives (ADR 0116)."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from common.core.asgi import FILE_READ_BYTES, DocentASGIHandler, RequestThreads
from config.asgi import application
from config.tests import asgi_urls

# The benchmarks' ASGI request and hop counter (scripts/ is not a package).
_spec = importlib.util.spec_from_file_location(
    "request_timing", Path(__file__).resolve().parents[2] / "scripts" / "request_timing.py"
)
assert _spec is not None and _spec.loader is not None
timing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(timing)


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = "config.tests.asgi_urls"
    asgi_urls.threads_seen.clear()


async def _request(app: Any, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    sent = await timing.asgi_call(app, timing.http_scope(path, headers or {}, host="testserver"))
    start, bodies = sent[0], [m["body"] for m in sent[1:] if m.get("body")]
    return {
        "status": start["status"],
        "headers": {k.decode().lower(): v.decode() for k, v in start["headers"]},
        "bodies": bodies,
    }


def get(path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return asyncio.run(_request(application, path, headers))


def test_a_request_to_a_sync_view_crosses_to_its_thread_once_for_the_whole_middleware_chain():
    with timing.counted_thread_hops() as counts:
        response = get("/t/noop")

    assert response["status"] == 200
    # Django's request_started receivers, the middleware chain with the view, and response.close() (its content is in
    # memory) in one hop. A middleware that can only run async, or a chain built for an async handler, adds hops here
    # (Django's stock handler makes five sync_to_async and one async_to_sync for this request).
    assert counts == {"sync_to_async": 1, "async_to_sync": 0}


@pytest.fixture
def request_signals():
    """Where and when Django's request_started and request_finished reached their receivers."""
    from django.core.signals import request_finished, request_started

    seen: list[tuple[str, int]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", threading.get_ident()))

    request_started.connect(started)
    request_finished.connect(finished)
    yield seen
    request_started.disconnect(started)
    request_finished.disconnect(finished)


def test_a_request_starts_and_finishes_once_on_the_thread_its_view_ran_on(request_signals):
    assert get("/t/noop")["bodies"] == [b"ok"]

    [view_thread] = asgi_urls.threads_seen
    # close_old_connections is among the receivers: a pooled connection the view used goes back before the response
    # leaves, on the thread that used it.
    assert request_signals == [("started", view_thread), ("finished", view_thread)]


def test_a_streamed_response_finishes_once_after_its_last_part(request_signals):
    with timing.counted_thread_hops() as counts:
        response = get("/t/sync-stream")

    assert b"".join(response["bodies"]) == b"one two three"
    assert [name for name, _ in request_signals] == ["started", "finished"]
    assert counts == {"sync_to_async": 2, "async_to_sync": 0}  # the chain, then close() once the stream has been sent


def test_request_threads_are_used_again_by_the_next_requests():
    handler = DocentASGIHandler()

    async def three_requests() -> None:
        for _ in range(3):
            assert (await _request(handler, "/t/noop"))["status"] == 200

    asyncio.run(three_requests())

    assert len(set(asgi_urls.threads_seen)) == 1
    assert asgi_urls.threads_seen[0] != threading.get_ident()  # not on the event loop's thread
    assert handler.threads.started == 1


def test_a_request_thread_still_busy_after_its_request_is_not_handed_to_the_next_one():
    threads = RequestThreads(keep=4)
    busy, idle = threads.take(), threads.take()
    release = threading.Event()
    busy.submit(release.wait)  # a view still running for a client that went away
    idle.submit(lambda: None).result()
    threads.give_back(busy)
    threads.give_back(idle)

    assert threads.take() is idle
    assert threads.take() is not busy
    release.set()


def test_no_more_idle_threads_are_kept_than_asked():
    threads = RequestThreads(keep=1)
    first, second = threads.take(), threads.take()
    threads.give_back(first)
    threads.give_back(second)

    assert threads.take() is first
    assert threads.take() is not second


def test_request_id_and_content_security_policy_headers_come_through_the_asgi_app():
    echoed = get("/t/noop", {"X-Request-ID": "abc-123"})
    widened = get("/t/widened")

    assert echoed["headers"]["x-request-id"] == "abc-123"
    assert "script-src 'self';" in echoed["headers"]["content-security-policy"]
    assert "script-src 'self' https://cdn.example;" in widened["headers"]["content-security-policy"]
    assert len(widened["headers"]["x-request-id"]) == 32


def test_a_database_outage_is_a_503_with_retry_after_through_the_asgi_app():
    api = get("/api/v1/t/database-down")
    page = get("/t/database-down")

    assert api["status"] == 503 and int(api["headers"]["retry-after"]) > 0
    assert b'"code"' in b"".join(api["bodies"]) and api["headers"]["content-type"] == "application/json"
    assert page["status"] == 503 and int(page["headers"]["retry-after"]) > 0
    assert "text/html" in page["headers"]["content-type"]


def test_static_files_are_served_through_the_asgi_app(settings):
    settings.WHITENOISE_USE_FINDERS = True  # the test settings collect no static root; WhiteNoise reads it at start

    response = asyncio.run(_request(DocentASGIHandler(), "/static/css/docent.css"))

    assert response["status"] == 200
    assert b"".join(response["bodies"])
    assert "x-request-id" in response["headers"]


@pytest.mark.parametrize("path", ["/t/sync-stream", "/t/async-stream"])
def test_a_streamed_response_arrives_part_by_part_through_the_asgi_app(path):
    response = get(path)

    assert response["status"] == 200
    assert response["bodies"] == [b"one ", b"two ", b"three"]
    assert "content-security-policy" in response["headers"]


def test_a_large_file_is_sent_while_it_is_read_not_read_whole_first():
    read_when_sent: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def spy(message: dict[str, Any]) -> None:
            if message.get("body"):
                read_when_sent.append(asgi_urls.opened[-1].tell())
            await send(message)

        await DocentASGIHandler()(scope, receive, spy)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django warns when it has to read a synchronous stream whole
        response = asyncio.run(_request(app, "/t/large-file"))

    assert response["status"] == 200
    assert b"".join(response["bodies"]) == asgi_urls.LARGE_FILE
    assert read_when_sent[0] <= FILE_READ_BYTES + 4096  # one block read (FileResponse reads 4 KiB at a time)
    assert read_when_sent[0] < len(asgi_urls.LARGE_FILE)
    assert asgi_urls.opened[-1].closed
    assert set(asgi_urls.threads_seen) - {threading.get_ident()}  # the view ran on a request thread


def test_an_async_view_runs_on_the_event_loop_not_on_a_request_thread():
    response = get("/t/async-stream")

    assert response["status"] == 200
    assert asgi_urls.threads_seen == [threading.get_ident()]  # asyncio.run's loop runs on this thread


@pytest.mark.django_db(transaction=True)
def test_an_api_key_request_gets_its_rate_limit_headers_through_the_asgi_app(organization, redis_url):
    from apps.api_keys.tests.factories import APIKeyFactory

    api_key = APIKeyFactory(organization=organization, scopes=["analytics:read"], rate_limit_per_minute=50)

    response = get("/api/v1/usage", {"Authorization": f"Bearer {api_key.plaintext}"})

    assert response["status"] == 200
    assert response["headers"]["x-ratelimit-limit"] == "50"
    assert int(response["headers"]["x-ratelimit-remaining"]) == 49
