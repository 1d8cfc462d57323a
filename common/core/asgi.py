"""Django's HTTP side under ASGI with one thread hop per request for the middleware chain and a sync view, on
request threads that are kept and used again (ADR 0116); request_started and an in-memory response's close() go in
that same hop (ADR 0136).

Django's own ASGIHandler builds the middleware chain for an async handler: the sync-only middleware in it (and every
async-capable one that is only MiddlewareMixin: its hooks each go to a thread) make it hop between the event loop and
the request's thread five to sixteen times per request, and it starts a new thread (plus a second one to join it) for
every request. Here the chain is Django's synchronous one, as under WSGI, run on the request's thread in one call: the
middleware, the view middleware, a sync view and its exception handling run there, and an async view (the streaming
answers) is run back on the event loop by Django's own adapter, as it already was.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix

# A file response (a document's original, WhiteNoise's static files) is read this much at a time, on the request's
# thread, while it is sent: Django's handler reads a synchronous stream whole into memory before sending any of it.
FILE_READ_BYTES = 256 * 1024

# How many idle request threads a process keeps for the next requests; more concurrent requests than this start
# threads that end when their request does (as every request's did before).
IDLE_REQUEST_THREADS = 32


class RequestThread(ThreadPoolExecutor):
    """One thread that runs one request's synchronous code at a time, and knows whether it is still busy: a request
    whose client went away can leave its view running after the request is over, and such a thread is not handed
    to the next request."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="request")
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def idle(self) -> bool:
        return self._pending == 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self._pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._finished)  # before the event loop is told: run in order, on this thread
        return future

    def _finished(self, _: Future[Any]) -> None:
        with self._lock:
            self._pending -= 1


class RequestThreads:
    """Idle request threads, taken by a request and given back when it is over."""

    def __init__(self, *, keep: int = IDLE_REQUEST_THREADS) -> None:
        self.keep = keep
        self._idle: list[RequestThread] = []
        self.started = 0

    def take(self) -> RequestThread:
        try:
            return self._idle.pop()  # atomic: a process serving from two event loops needs no lock
        except IndexError:
            self.started += 1
            return RequestThread()

    def give_back(self, thread: RequestThread) -> None:
        if thread.idle and len(self._idle) < self.keep:
            self._idle.append(thread)
        else:
            thread.shutdown(wait=False)  # it finishes what it was given, then ends


class DocentASGIHandler(ASGIHandler):
    """Django's ASGIHandler with the synchronous middleware chain behind one sync_to_async, and request threads
    used again."""

    def __init__(self, *, keep_threads: int = IDLE_REQUEST_THREADS) -> None:
        self.threads = RequestThreads(keep=keep_threads)
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        chain: Callable[..., Any] | None = self._middleware_chain  # type: ignore[has-type]
        assert chain is not None

        def started_chain_closed(request: HttpRequest) -> HttpResponseBase:
            """On the request's thread, in its one hop: Django's request_started receivers (which its handler sends
            from the event loop, a hop of their own), the chain, and for a response whose content is in memory its
            close() (request_finished: the connections go back to the pool), which the handler would make a third
            hop after sending it."""
            signals.request_started.send(sender=self.__class__, scope=request.scope)  # type: ignore[attr-defined]
            response: HttpResponseBase = chain(request)
            if not response.streaming:
                response.close()
                response._closed_on_its_thread = True  # type: ignore[attr-defined]
            return response

        self._middleware_chain = sync_to_async(started_chain_closed, thread_sensitive=True)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self.threads.take()
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(thread)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's ASGIHandler.handle (5.2) without its own hops for request_started (sent with the chain) and for
        closing a response the chain has already closed; the rest as Django does it."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None
            body_file.close()
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()
            return

        async def process_request(request: HttpRequest, send: Any) -> HttpResponseBase:
            response = await self.run_get_response(request)
            with contextlib.suppress(asyncio.CancelledError):  # the client went away during send_response
                await self.send_response(response, send)
            return response

        # The disconnect listener first: it must not raise what would keep process_request from being cancelled.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()  # a view may handle its cancellation
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = cast(HttpResponseBase, tasks[1].result())
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            if not getattr(response, "_closed_on_its_thread", False):
                await sync_to_async(response.close)()
        body_file.close()

    async def send_response(self, response: HttpResponseBase, send: Any) -> None:
        if isinstance(response, FileResponse) and not response.is_async:
            parts = response.streaming_content
            assert isinstance(parts, Iterator)
            response.streaming_content = _read_on_the_request_thread(parts)
        await super().send_response(response, send)


async def _read_on_the_request_thread(parts: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A file's blocks, FILE_READ_BYTES at a time, read where the view ran (the request's thread, which opened
    the file) and sent as they are read: the memory a download takes is one block, not the file."""
    take = sync_to_async(_take, thread_sensitive=True)
    while block := await take(parts, FILE_READ_BYTES):
        yield block


def _take(parts: Iterator[bytes], limit: int) -> bytes:
    taken: list[bytes] = []
    size = 0
    for part in parts:
        taken.append(part)
        size += len(part)
        if size >= limit:
            break
    return b"".join(taken)


def get_asgi_application() -> DocentASGIHandler:
    """django.core.asgi.get_asgi_application with this handler."""
    import django

    django.setup(set_prefix=False)
    return DocentASGIHandler()
