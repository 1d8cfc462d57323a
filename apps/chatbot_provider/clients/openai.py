"""OpenAI and OpenAI-compatible servers (Ollama, vLLM, LM Studio, gateways), through the official `openai` SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import openai

from apps.chatbot_provider.clients.base import NetworkClient, error_from_status, read_and_connect_timeouts, scrub
from apps.chatbot_provider.clients.protocol import ChatMessage, StreamEvent, TextDelta, Usage
from apps.chatbot_provider.errors import ProviderError, ProviderTimeout, ProviderUnavailable
from apps.chatbot_provider.models import ChatbotProvider


class OpenAIClient(NetworkClient):
    """`max_tokens_field` names the answer-length limit: OpenAI's current API wants `max_completion_tokens`,
    most OpenAI-compatible servers still read `max_tokens`."""

    def __init__(self, *, max_tokens_field: str, required_fields: Mapping[str, str]) -> None:
        self.max_tokens_field = max_tokens_field
        self.required_fields = required_fields

    def build_sdk_client(self, provider: ChatbotProvider) -> Any:
        read, connect = read_and_connect_timeouts(provider)
        timeout = openai.Timeout(read, connect=connect)
        return openai.OpenAI(
            # Local servers (Ollama, vLLM) accept any key; the SDK insists on one.
            api_key=provider.api_key or "not-needed",
            base_url=provider.base_url or None,
            timeout=timeout,
            max_retries=0,
            # A redirect could lead past the base URL check.
            http_client=openai.DefaultHttpxClient(follow_redirects=False, timeout=timeout),
        )

    def open_stream(
        self,
        provider: ChatbotProvider,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
    ) -> Iterator[StreamEvent]:
        client = self.sdk_client(provider)
        # The SDK sends the request and raises its typed errors; the SSE lines are read here, because building
        # the SDK's typed chunk objects costs about a millisecond per chunk on the answer's hot path. The body's
        # values (the messages, plain strings already in the wire's shape, and the options) go in `extra_body`,
        # which the SDK merges over the body it built, unread: its recursive transform of its typed parameters
        # walked the prompt's passages (ADR 0102) and costs some 15 us per option besides (ADR 0133). Only what its
        # signature requires goes through the transform (`model` is most of what is left: the SDK hashes its
        # Literal of model names for it on every call). The request on the wire is the same.
        with client.chat.completions.with_streaming_response.create(
            model=model,
            messages=[],
            stream=True,
            extra_body={
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "stream_options": {"include_usage": True},
                "temperature": temperature,
                self.max_tokens_field: max_tokens,
            },
        ) as response:
            lines = response.iter_lines()
            for line in lines:
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    for _ in lines:  # read to the end so the connection goes back to the pool
                        pass
                    break
                chunk = json.loads(data)
                if chunk.get("error"):
                    detail = scrub(str(chunk["error"].get("message") or chunk["error"]), provider)
                    raise ProviderUnavailable(f"{provider.name} reported an error while answering: {detail}")
                for choice in chunk.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield TextDelta(text)
                usage = chunk.get("usage")
                if usage:
                    yield Usage(
                        int(usage.get("prompt_tokens") or 0),
                        int(usage.get("completion_tokens") or 0),
                        str(chunk.get("model") or model),
                    )

    def embed_batch(self, provider: ChatbotProvider, texts: list[str], *, model: str, dimensions: int) -> list[Any]:
        result = self.sdk_client(provider).embeddings.create(model=model, input=texts, dimensions=dimensions)
        return [list(item.embedding) for item in sorted(result.data, key=lambda item: item.index)]

    def map_sdk_error(self, exc: BaseException, provider: ChatbotProvider) -> ProviderError | None:
        name = provider.name
        if isinstance(exc, openai.APITimeoutError):
            return ProviderTimeout(f"{name} did not answer within {provider.timeout_seconds:g} seconds.")
        if isinstance(exc, openai.APIStatusError):
            # Only a provider's structured error message is repeated, never a raw response body.
            body = exc.body
            detail = ""
            if isinstance(body, dict):
                error = body.get("error")
                detail = str((error.get("message") if isinstance(error, dict) else None) or body.get("message") or "")
            return error_from_status(exc.status_code, scrub(detail, provider), provider)
        if isinstance(exc, openai.APIConnectionError):
            return ProviderUnavailable(f"Could not reach {name}: {scrub(str(exc) or type(exc).__name__, provider)}")
        if isinstance(exc, openai.OpenAIError):
            return ProviderUnavailable(f"{name} sent an answer Docent could not read: {scrub(str(exc), provider)}")
        return None
