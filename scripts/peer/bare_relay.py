"""The floor under any Python answer server, for `make bench-chat --floor`: a bare ASGI app (no framework, no
database, no retrieval, no authentication) whose POST /chat relays the provider's streamed answer as Server-Sent
Events (`event: token`), the way Docent does it: the OpenAI SDK's sync client in a pool of threads, the tokens made
meanwhile handed to the event loop in one wake-up and written as one chunk, the provider's SSE lines read
without the SDK's typed chunk objects.

What it costs a process per answer (uvicorn's HTTP, the SDK, the event loop's writes) is what every server that
streams this provider's answers pays before doing anything of its own. Served by uvicorn in Docent's virtualenv
(the same SDK and uvicorn as Docent) with FLOOR_PROVIDER_URL set:
  uvicorn scripts.peer.bare_relay:app
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

_client = OpenAI(base_url=os.environ.get("FLOOR_PROVIDER_URL", ""), api_key="bench", max_retries=0, timeout=30)
_threads = ThreadPoolExecutor(max_workers=64, thread_name_prefix="relay")
Send = Any
Receive = Any


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def _body(receive: Receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _plain(send: Send, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text})


async def _relay(question: str, send: Send) -> None:
    loop = asyncio.get_running_loop()
    pending: deque[str | None] = deque()
    ready = asyncio.Event()
    wake = [False]  # a wake-up is on its way to the loop: the producer only appends

    def put(text: str | None) -> None:
        pending.append(text)
        if not wake[0]:
            wake[0] = True
            loop.call_soon_threadsafe(ready.set)

    def produce() -> None:
        # The SSE lines read as Docent's client reads them (apps.chatbot_provider.clients.openai), without the SDK's
        # typed chunk objects, and to the end, so that the connection goes back to the pool.
        try:
            messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": question}]
            with _client.chat.completions.with_streaming_response.create(
                model="bench-model", messages=messages, stream=True
            ) as response:
                for line in response.iter_lines():
                    if not line.startswith("data:") or (data := line[5:].strip()) == "[DONE]":
                        continue
                    for choice in json.loads(data).get("choices") or ():
                        if text := (choice.get("delta") or {}).get("content"):
                            put(text)
        finally:
            put(None)

    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    producer = loop.run_in_executor(_threads, produce)
    done = False
    while not done:
        await ready.wait()
        ready.clear()
        wake[0] = False  # before draining: whatever is appended after this wakes the loop again
        chunk = b""
        while pending:
            text = pending.popleft()
            if text is None:
                done = True
                chunk += _frame("done", {})
                break
            chunk += _frame("token", {"text": text})
        if chunk:
            await send({"type": "http.response.body", "body": chunk, "more_body": not done})
    await producer


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            if (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["path"] == "/healthz":
        await _plain(send, 200, b"ok")
        return
    if scope["method"] != "POST" or scope["path"] != "/chat":
        await _plain(send, 404, b"not found")
        return
    question = json.loads(await _body(receive)).get("message", "")
    await _relay(str(question), send)
