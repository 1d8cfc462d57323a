"""A chat turn's events in OpenAI's wire format: one `chat.completion` body, or `chat.completion.chunk`
Server-Sent Events ending with `data: [DONE]`.

Citations travel where OpenAI puts them: `url_citation` annotations whose start and end indexes cover the
passage marker (`[1]`) in the content, pointing at the document's API resource. The full sources (document,
title, page, snippet, score) travel in one extension field, `docent_sources`, next to the annotations.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from apps.chatbot.services.answer import ChatEvent, CitationsEvent, DoneEvent, ErrorEvent, TokenEvent
from apps.chatbot_provider.extractive import MARKER
from apps.openai_compat.errors import openai_error_body

# The passage markers the answer pipeline cites with: [1] or [1, 2]; a document's own bracketed numbers reach
# the answer with full-width brackets, so every match here is Docent's.
MARKERS = MARKER
DONE = b"data: [DONE]\n\n"

DocumentUrl = Callable[[str], str]


def sources_for(citations: Iterable[dict[str, Any]], document_url: DocumentUrl) -> list[dict[str, Any]]:
    """The pipeline's citations with the URL of each document (the `docent_sources` extension)."""
    return [{**citation, "url": document_url(str(citation["document_id"]))} for citation in citations]


def annotations_for(content: str, sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One url_citation per cited passage per marker in `content`, indexed in characters of `content`."""
    by_marker = {int(source["marker"]): source for source in sources}
    annotations = []
    for match in MARKERS.finditer(content):
        for piece in match.group(1).split(","):
            source = by_marker.get(int(piece))
            if source is None:
                continue
            title = source["document_title"] + (f", page {source['page']}" if source.get("page") else "")
            annotations.append(
                {
                    "type": "url_citation",
                    "url_citation": {
                        "start_index": match.start(),
                        "end_index": match.end(),
                        "title": title,
                        "url": source["url"],
                    },
                }
            )
    return annotations


def _usage(done: dict[str, Any]) -> dict[str, int]:
    usage = done.get("usage") or {}
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _finish_reason(usage: dict[str, int], max_tokens: int) -> str:
    return "length" if max_tokens and usage["completion_tokens"] >= max_tokens else "stop"


@dataclass(frozen=True)
class Completion:
    """A whole turn as one response: the status code and its body (a chat.completion, or an OpenAI error)."""

    status_code: int
    body: dict[str, Any]


def error_for(event: ErrorEvent) -> dict[str, Any]:
    type_ = "server_error" if event.status_code >= 500 else "invalid_request_error"
    return openai_error_body(message=event.message, type_=type_, code=event.code)


def completion_collect(
    events: Iterable[ChatEvent], *, completion_id: str, model: str, document_url: DocumentUrl, max_tokens: int
) -> Completion:
    """Fold a turn's events into one `chat.completion` body, or its error in OpenAI's shape."""
    parts: list[str] = []
    citations: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, TokenEvent):
            parts.append(event.text)
        elif isinstance(event, CitationsEvent):
            citations = event.citations
        elif isinstance(event, ErrorEvent):
            return Completion(event.status_code, error_for(event))
        elif isinstance(event, DoneEvent):
            content = "".join(parts).strip()
            sources = sources_for(citations, document_url)
            usage = _usage(event.data)
            message = {
                "role": "assistant",
                "content": content,
                "refusal": None,
                "annotations": annotations_for(content, sources),
                "docent_sources": sources,
            }
            body = {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": _finish_reason(usage, max_tokens),
                        "logprobs": None,
                    }
                ],
                "usage": usage,
                "system_fingerprint": None,
            }
            return Completion(200, body)
    ended = openai_error_body(message="The answer ended early.", type_="server_error", code="answer_failed")
    return Completion(502, ended)


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


@dataclass
class ChunkEncoder:
    """Encodes one turn's events as `chat.completion.chunk` frames (stateful: the text so far, for indexes)."""

    completion_id: str
    model: str
    document_url: DocumentUrl
    include_usage: bool
    max_tokens: int
    created: int = field(default_factory=lambda: int(time.time()))
    sent: list[str] = field(default_factory=list)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return _sse(chunk)

    def start(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def encode(self, event: ChatEvent) -> bytes:
        if isinstance(event, TokenEvent):
            self.sent.append(event.text)
            return self._chunk({"content": event.text})
        if isinstance(event, CitationsEvent):
            if not event.citations:
                return b""
            sources = sources_for(event.citations, self.document_url)
            content = "".join(self.sent)
            return self._chunk({"annotations": annotations_for(content, sources), "docent_sources": sources})
        if isinstance(event, DoneEvent):
            usage = _usage(event.data)
            frames = self._chunk({}, _finish_reason(usage, self.max_tokens))
            if self.include_usage:
                last = {
                    "id": self.completion_id,
                    "object": "chat.completion.chunk",
                    "created": self.created,
                    "model": self.model,
                    "system_fingerprint": None,
                    "choices": [],
                    "usage": usage,
                }
                frames += _sse(last)
            return frames + DONE
        if isinstance(event, ErrorEvent):
            # OpenAI's SDKs raise APIError on an `error` frame in a stream.
            return _sse(error_for(event))
        raise TypeError(type(event).__name__)
