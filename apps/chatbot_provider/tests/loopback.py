"""A loopback HTTP server that speaks the OpenAI and Gemini wire formats, for the real SDKs to talk to.

OpenAI (base URL http://127.0.0.1:PORT/v1): POST /chat/completions (JSON or SSE with a usage chunk),
POST /embeddings (float or base64), error bodies {"error": {"message", "type", "code"}}.
Gemini (base URL http://127.0.0.1:PORT/gemini): POST /v1beta/models/M:generateContent,
:streamGenerateContent?alt=sse, :embedContent, :batchEmbedContents, error bodies
{"error": {"code", "message", "status"}}.

Tests script it: `server.push(Behaviour(status=429))` queues what the next request gets;
`server.requests` records what the SDKs sent. The bench uses it with a fixed first-token delay.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_REPLY = "Docent answers from the documents [1]."
GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass
class Behaviour:
    status: int = 200
    error_message: str = "Something went wrong on the provider."
    reply: str | None = None  # None: the server's current reply
    first_token_delay: float = 0.0
    token_delay: float = 0.0
    cut_after: int | None = None  # drop the connection after this many streamed chunks
    stall_after: int | None = None  # stop sending (read timeout) after this many streamed chunks
    retry_after: str | None = None
    raw_body: bytes | None = None  # an error answered with this body (an HTML error page, say) instead of JSON
    location: str | None = None  # a redirect (status 3xx) to this URL


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class LoopbackState:
    api_key: str | None = None
    reply: str = DEFAULT_REPLY
    default: Behaviour = field(default_factory=Behaviour)
    queue: deque[Behaviour] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)


def fake_vector(text: str, dimensions: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [((digest[i % len(digest)] + i * 31) % 251) / 251.0 - 0.5 for i in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ------------------------------------------------------------------ plumbing
    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        self.wfile.flush()
        self.connection.shutdown(2)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.server.state.released.wait(seconds)

    def _pieces(self, behaviour: Behaviour) -> list[str]:
        text = behaviour.reply if behaviour.reply is not None else self.server.state.reply
        words = text.split(" ")
        return [w if i == 0 else f" {w}" for i, w in enumerate(words)]

    def _stream(self, behaviour: Behaviour, frames: list[bytes]) -> None:
        """Send SSE frames honouring delays, cuts and stalls. The last frame is the terminator."""
        self._start_stream()
        self._sleep(behaviour.first_token_delay)
        for index, frame in enumerate(frames):
            if behaviour.cut_after is not None and index >= behaviour.cut_after:
                self._drop()
                return
            if behaviour.stall_after is not None and index >= behaviour.stall_after:
                self._sleep(3600)
                self._drop()
                return
            if index:
                self._sleep(behaviour.token_delay)
            self._chunk(frame)
        self._end_stream()

    # ------------------------------------------------------------------ dispatch
    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "loop-chat", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        body = json.loads(raw or b"{}")
        state = self.server.state
        with state.lock:
            state.requests.append(Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            behaviour = state.queue.popleft() if state.queue else state.default
        gemini = ":" in self.path.rsplit("/", 1)[-1]
        if gemini:
            self._gemini(body, behaviour)
        else:
            self._openai(body, behaviour)

    # ------------------------------------------------------------------ OpenAI
    def _openai_error(self, status: int, message: str, behaviour: Behaviour) -> None:
        kinds = {401: "invalid_request_error", 429: "rate_limit_exceeded", 400: "invalid_request_error"}
        headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
        payload = {
            "error": {
                "message": message,
                "type": kinds.get(status, "server_error"),
                "param": None,
                "code": "invalid_api_key" if status == 401 else None,
            }
        }
        self._json(status, payload, headers)

    def _raw(self, behaviour: Behaviour) -> None:
        data = behaviour.raw_body or b""
        self.send_response(behaviour.status)
        self.send_header("Content-Type", "text/html")
        if behaviour.location:
            self.send_header("Location", behaviour.location)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _openai(self, body: dict[str, Any], behaviour: Behaviour) -> None:
        state = self.server.state
        if state.api_key is not None and self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self._openai_error(401, "Incorrect API key provided.", behaviour)
            return
        if behaviour.status != 200 and (behaviour.raw_body is not None or behaviour.location):
            self._raw(behaviour)
            return
        if behaviour.status != 200:
            self._openai_error(behaviour.status, behaviour.error_message, behaviour)
            return
        model = body.get("model", "loop-model")
        if self.path.endswith("/embeddings"):
            inputs = body.get("input")
            texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
            dimensions = int(body.get("dimensions") or 1536)
            data = []
            for index, text in enumerate(texts):
                vector = fake_vector(str(text), dimensions)
                embedding: Any = vector
                if body.get("encoding_format") == "base64":
                    embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                data.append({"object": "embedding", "index": index, "embedding": embedding})
            usage = {"prompt_tokens": sum(len(str(t).split()) for t in texts), "total_tokens": 0}
            self._json(200, {"object": "list", "data": data, "model": model, "usage": usage})
            return
        if not self.path.endswith("/chat/completions"):
            self._openai_error(404, f"Unknown path {self.path}", behaviour)
            return
        pieces = self._pieces(behaviour)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
        }
        base = {"id": "chatcmpl-loop", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        if not body.get("stream"):
            self._sleep(behaviour.first_token_delay)
            message = {"role": "assistant", "content": "".join(pieces)}
            self._json(
                200,
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": usage,
                },
            )
            return
        frames = []
        for index, piece in enumerate(pieces):
            delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
            frames.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        frames.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            frames.append({**base, "choices": [], "usage": usage})
        encoded = [f"data: {json.dumps(frame)}\n\n".encode() for frame in frames] + [b"data: [DONE]\n\n"]
        self._stream(behaviour, encoded)

    # ------------------------------------------------------------------ Gemini
    def _gemini_error(self, status: int, message: str) -> None:
        self._json(
            status, {"error": {"code": status, "message": message, "status": GEMINI_STATUS.get(status, "UNKNOWN")}}
        )

    def _gemini(self, body: dict[str, Any], behaviour: Behaviour) -> None:
        state = self.server.state
        if state.api_key is not None and self.headers.get("x-goog-api-key") != state.api_key:
            self._gemini_error(400, "API key not valid. Please pass a valid API key.")
            return
        if behaviour.status != 200:
            self._gemini_error(behaviour.status, behaviour.error_message)
            return
        method = self.path.split("?", 1)[0].rsplit(":", 1)[-1]
        model = self.path.split("/models/", 1)[-1].split(":", 1)[0]
        if method in ("embedContent", "batchEmbedContents"):
            requests = body.get("requests") or [body]
            embeddings = []
            for request in requests:
                parts = (request.get("content") or {}).get("parts") or []
                text = " ".join(str(p.get("text", "")) for p in parts)
                config = request.get("embedContentConfig") or {}
                dimensions = int(request.get("outputDimensionality") or config.get("outputDimensionality") or 768)
                embeddings.append({"values": fake_vector(text, dimensions)})
            payload = {"embeddings": embeddings} if method == "batchEmbedContents" else {"embedding": embeddings[0]}
            self._json(200, payload)
            return
        if method not in ("generateContent", "streamGenerateContent"):
            self._gemini_error(404, f"Method {method} is not supported.")
            return
        pieces = self._pieces(behaviour)
        prompt_tokens = sum(
            len(str(part.get("text", "")).split()) for c in body.get("contents", []) for part in c.get("parts", [])
        )
        usage = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": len(pieces),
            "totalTokenCount": prompt_tokens + len(pieces),
        }

        def candidate(text: str, finish: str | None = None) -> dict[str, Any]:
            item: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
            if finish:
                item["finishReason"] = finish
            return item

        if method == "generateContent":
            self._sleep(behaviour.first_token_delay)
            self._json(
                200, {"candidates": [candidate("".join(pieces), "STOP")], "usageMetadata": usage, "modelVersion": model}
            )
            return
        frames = [{"candidates": [candidate(p)], "modelVersion": model} for p in pieces[:-1]]
        frames.append({"candidates": [candidate(pieces[-1], "STOP")], "usageMetadata": usage, "modelVersion": model})
        self._stream(behaviour, [f"data: {json.dumps(frame)}\r\n\r\n".encode() for frame in frames])


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = LoopbackState()
        self._thread = threading.Thread(target=self.serve_forever, name="loopback-provider", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def gemini_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/gemini"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.released.set()
        self.shutdown()
        self.server_close()

    def reset(self) -> None:
        self.state.released.set()  # wake any stalled handler of the previous test
        self.state = LoopbackState()

    def push(self, *behaviours: Behaviour) -> None:
        with self.state.lock:
            self.state.queue.extend(behaviours)

    @property
    def requests(self) -> list[Recorded]:
        return self.state.requests


def main() -> None:
    """Run the server on its own (the chat bench does): prints the port, serves until killed."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="delay before the first streamed token")
    parser.add_argument("--token-delay-ms", type=float, default=0.0)
    parser.add_argument("--reply", default=DEFAULT_REPLY)
    args = parser.parse_args()
    server = LoopbackServer()
    server.state.default = Behaviour(first_token_delay=args.delay_ms / 1000, token_delay=args.token_delay_ms / 1000)
    server.state.reply = args.reply
    print(server.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
