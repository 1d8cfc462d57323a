"""Google Gemini, through the official `google-genai` SDK (the successor of `google-generativeai`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from apps.chatbot_provider.clients.base import NetworkClient, error_from_status, scrub
from apps.chatbot_provider.clients.protocol import ChatMessage, StreamEvent, TextDelta, Usage
from apps.chatbot_provider.errors import ProviderAuthenticationFailed, ProviderError
from apps.chatbot_provider.models import ChatbotProvider


class GeminiClient(NetworkClient):
    required_fields: Mapping[str, str] = {"api_key": "This provider needs an API key."}

    def build_sdk_client(self, provider: ChatbotProvider) -> Any:
        http_options = genai_types.HttpOptions(
            # The SDK takes one per-operation timeout: the provider's read timeout.
            timeout=int(provider.timeout_seconds * 1000),
            base_url=provider.base_url or None,
            client_args={"follow_redirects": False},  # a redirect could lead past the base URL check
        )
        return genai.Client(api_key=provider.api_key, http_options=http_options)

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
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        contents = [
            genai_types.Content(
                role="model" if m.role == "assistant" else "user", parts=[genai_types.Part(text=m.content)]
            )
            for m in messages
            if m.role != "system"
        ]
        config = genai_types.GenerateContentConfig(
            system_instruction=system or None, temperature=temperature, max_output_tokens=max_tokens
        )
        usage: Usage | None = None
        for chunk in client.models.generate_content_stream(model=model, contents=contents, config=config):
            for candidate in chunk.candidates or ():
                for part in (candidate.content.parts if candidate.content else None) or ():
                    if part.text and not part.thought:
                        yield TextDelta(part.text)
            meta = chunk.usage_metadata
            if meta is not None:
                usage = Usage(
                    meta.prompt_token_count or 0, meta.candidates_token_count or 0, chunk.model_version or model
                )
        if usage is not None:
            yield usage

    def embed_batch(self, provider: ChatbotProvider, texts: list[str], *, model: str, dimensions: int) -> list[Any]:
        response = self.sdk_client(provider).models.embed_content(
            model=model,
            # One Content per text: given bare strings, multimodal embedding models fold them into one vector.
            contents=[genai_types.Content(role="user", parts=[genai_types.Part(text=text)]) for text in texts],
            config=genai_types.EmbedContentConfig(output_dimensionality=dimensions),
        )
        return [list(e.values or []) for e in response.embeddings or []]

    def map_sdk_error(self, exc: BaseException, provider: ChatbotProvider) -> ProviderError | None:
        if not isinstance(exc, genai_errors.APIError):
            return None
        detail = scrub(exc.message or exc.status or "", provider)
        status = int(exc.code or 500)
        if status == 400 and "api key" in detail.lower():
            return ProviderAuthenticationFailed(f"{provider.name} rejected the API key (HTTP 400): {detail}")
        return error_from_status(status, detail, provider)
