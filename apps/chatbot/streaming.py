"""Chat turns for async code, and as a Server-Sent Events response (an async stream under ASGI, sync under WSGI).

The answer pipeline is synchronous (Django ORM, the SDKs' sync clients). `events_async(turn)` runs it in a
pooled thread (which keeps its database connection between answers, as CONN_MAX_AGE allows) and hands the
typed events to the event loop (one wake-up for all the events made meanwhile), so tokens leave as soon as they
exist, for any transport (the SSE response writes the events of one wake-up as one chunk):
it knows no wire format (apps.chatbot.encoders does). If the consumer goes away (client disconnect), the
producer closes the pipeline, which saves the partial answer. See docs/adr/0020-chat-streaming.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from apps.chatbot.encoders import sse_encode, sse_frame
from apps.chatbot.services.answer import (
    ChatEvent,
    ChatTurn,
    chat_turn_question_save,
    chat_turn_retrieve,
    chat_turn_stream,
)

logger = logging.getLogger(__name__)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_producing: set[asyncio.Future[None]] = set()  # producers still running after their consumer went away


class EventStreamRenderer(BaseRenderer):
    """Lets clients ask for text/event-stream; errors raised before streaming render as one error event."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, dict) and "error" in data:
            return sse_frame("error", data["error"])
        return sse_frame("message", data)


@lru_cache(maxsize=1)
def _producers() -> ThreadPoolExecutor:
    """Long-lived threads for answer streams: each keeps its database connection between answers."""
    return ThreadPoolExecutor(max_workers=int(settings.CHAT_STREAM_THREADS), thread_name_prefix="chat-stream")


def _drop_broken_connections() -> None:
    for connection in connections.all(initialized_only=True):
        raw = connection.connection
        if raw is not None and (raw.closed or getattr(raw, "broken", False)):
            connection.close()


def _release_connections() -> None:
    """After an answer, as Django does after a request: CONN_MAX_AGE=0 closes the connection, a longer age
    keeps it for the next answer until it is obsolete; one left broken or inside a transaction is closed."""
    for connection in connections.all(initialized_only=True):
        if connection.errors_occurred or connection.in_atomic_block or not connection.get_autocommit():
            connection.close()
        else:
            connection.close_if_unusable_or_obsolete()


def release_request_connections() -> None:
    """Before an ASGI view hands its answer to a stream thread: the request thread needs no connection any more,
    so a pooled one goes back to the pool and a per-request one (CONN_MAX_AGE=0) is closed now rather than
    after the stream. (Django only releases it when the response is closed, which a client disconnecting at
    the wrong moment skips.) Persistent connections and ones inside a transaction are kept."""
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            continue
        if getattr(connection, "pool", None) is not None or connection.settings_dict.get("CONN_MAX_AGE") == 0:
            connection.close()


def hands_over(request: HttpRequest) -> bool:
    """Whether a stream answered to `request` is handed to a producer thread (`stream_handover`): under ASGI. A turn
    for it may leave its question to be saved then (ADR 0138)."""
    return isinstance(request, ASGIRequest)


def stream_handover(turn: ChatTurn) -> None:
    """What an ASGI view does on the request's thread before it hands `turn` to a stream thread: the retrieval on
    the connection that saved the question (chat_turn_retrieve, ADR 0124), then the stream's producer started from
    here (ADR 0135): the provider is asked while the event loop is still taking the response, not after. A question
    left to be saved later (ADR 0138) is saved now, while the producer asks the provider; if that fails the producer
    is told to stop and the error is the request's. Then the connection is given back
    (release_request_connections): the stream's thread takes one only to save the answer."""
    chat_turn_retrieve(turn)
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():  # a request thread of the ASGI server
        _Production(turn, loop).start()
    try:
        chat_turn_question_save(turn)
    except BaseException:
        if turn.production is not None:
            turn.production.gone.set()
        raise
    release_request_connections()


class _Production:
    """A turn's answer pipeline on a producer thread, its events queued for one event loop.

    The producer appends and wakes the loop once per batch (a wake-up already on its way covers what is appended
    meanwhile); the loop drains. Setting `gone` (the consumer went away) makes the producer close the pipeline at
    its next event, which saves the partial answer as interrupted."""

    def __init__(self, turn: ChatTurn, loop: asyncio.AbstractEventLoop) -> None:
        self.turn = turn
        self.loop = loop
        self.pending: deque[ChatEvent | None] = deque()  # appended by the producer, drained by the loop (both atomic)
        self.ready = asyncio.Event()
        self.wake = False  # a wake-up is on its way to the loop: the producer only appends
        self.gone = threading.Event()
        self.future: Future[None] | None = None
        turn.production = self

    def start(self) -> None:
        """Run the pipeline on a producer thread, in a copy of the caller's context (its request id). The thread
        is told the event loop, as asgiref tells the threads it runs code on: what the pipeline rings (the stored
        answer's doorbell, a handoff) is sent on that loop. The in-memory channel layer is not thread-safe: a ring
        sent from a loop of the thread's own could leave the hub's receive asleep with the ring queued."""
        self.future = _producers().submit(contextvars.copy_context().run, self._produce)

    def _put(self, item: ChatEvent | None) -> None:
        self.pending.append(item)
        if not self.wake:
            self.wake = True
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening any more
                self.loop.call_soon_threadsafe(self.ready.set)

    def _produce(self) -> None:
        SyncToAsync.threadlocal.main_event_loop = self.loop
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        _drop_broken_connections()
        generator = chat_turn_stream(self.turn)
        try:
            for event in generator:
                if self.gone.is_set():
                    generator.close()  # saves the partial answer as interrupted
                    break
                self._put(event)
        except Exception:
            logger.exception("chat stream producer failed")
        finally:
            self._put(None)
            _release_connections()

    async def batches(self) -> AsyncGenerator[list[ChatEvent], None]:
        assert self.future is not None
        producer = asyncio.wrap_future(self.future, loop=self.loop)
        _producing.add(producer)
        producer.add_done_callback(_producing.discard)
        try:
            while True:
                await self.ready.wait()
                self.ready.clear()
                self.wake = False  # before draining: whatever is appended after this wakes the loop again
                batch: list[ChatEvent] = []
                while self.pending:
                    item = self.pending.popleft()
                    if item is None:
                        if batch:
                            yield batch
                        return
                    batch.append(item)
                if batch:
                    yield batch
        finally:
            self.gone.set()


async def event_batches_async(turn: ChatTurn) -> AsyncGenerator[list[ChatEvent], None]:
    """The turn's events for async code, in batches: every event the producer has made by the time the event loop
    gets to them, in order (one event per batch while tokens come slower than they are sent; several when the
    loop is busy). The producer wakes the loop once per batch, not once per event.

    The pipeline runs in a pooled thread, started by `stream_handover` when a view handed the turn over, else
    here; closing this generator (the consumer went away) makes the producer close the pipeline at its next event,
    which saves the partial answer as interrupted. Close it explicitly (`contextlib.aclosing`) when wrapping it in
    another generator.
    """
    loop = asyncio.get_running_loop()
    production = turn.production
    if production is None:
        production = _Production(turn, loop)
        production.start()
    elif production.loop is not loop:  # its producer wakes the loop it was started for: a second would answer twice
        raise RuntimeError("this turn's stream was started for another event loop")
    async with contextlib.aclosing(production.batches()) as batches:
        async for batch in batches:
            yield batch


async def events_async(turn: ChatTurn) -> AsyncGenerator[ChatEvent, None]:
    """The turn's events (TokenEvent*, then CitationsEvent + DoneEvent, or ErrorEvent) one by one for async code;
    see `event_batches_async`. Close it explicitly (`contextlib.aclosing`) when wrapping it in another generator."""
    async with contextlib.aclosing(event_batches_async(turn)) as batches:
        async for batch in batches:
            for event in batch:
                yield event


def sse_sync(turn: ChatTurn) -> Iterator[bytes]:
    for event in chat_turn_stream(turn):
        yield sse_encode(event)


async def sse_async(turn: ChatTurn) -> AsyncIterator[bytes]:
    """The events made ready together leave together: one body chunk (one write) per batch."""
    async with contextlib.aclosing(event_batches_async(turn)) as batches:
        async for batch in batches:
            yield b"".join(map(sse_encode, batch))


def sse_response(request: HttpRequest, turn: ChatTurn) -> StreamingHttpResponse:
    """The turn as Server-Sent Events: from the async bridge under ASGI, from the generator under WSGI."""
    stream: Iterator[bytes] | AsyncIterator[bytes]
    if hands_over(request):
        stream_handover(turn)
        stream = sse_async(turn)
    else:
        stream = sse_sync(turn)
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    for key, value in SSE_HEADERS.items():
        response[key] = value
    return response
