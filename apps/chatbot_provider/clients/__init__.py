"""One interface over every model provider: stream a chat completion, embed a batch of texts.

Each provider kind has one adapter (a ChatClient) in this package; CLIENTS maps each kind to its adapter.
Other apps call `stream_chat` and `embed_texts` and use the types below; they never reach for an adapter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from apps.chatbot_provider.clients.gemini import GeminiClient
from apps.chatbot_provider.clients.local import LocalClient
from apps.chatbot_provider.clients.offline import OfflineClient
from apps.chatbot_provider.clients.openai import OpenAIClient
from apps.chatbot_provider.clients.protocol import ChatClient, ChatMessage, Role, StreamEvent, TextDelta, Usage
from apps.chatbot_provider.errors import ProviderMisconfigured
from apps.chatbot_provider.models import ChatbotProvider, ProviderKind

__all__ = [
    "CLIENTS",
    "ChatClient",
    "ChatMessage",
    "Role",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "client_for",
    "embed_texts",
    "stream_chat",
]

CLIENTS: dict[str, ChatClient] = {
    ProviderKind.OPENAI: OpenAIClient(
        max_tokens_field="max_completion_tokens",
        required_fields={"api_key": "This provider needs an API key."},
    ),
    ProviderKind.OPENAI_COMPATIBLE: OpenAIClient(
        max_tokens_field="max_tokens",
        required_fields={"base_url": "An OpenAI-compatible provider needs the server's base URL."},
    ),
    ProviderKind.GEMINI: GeminiClient(),
    ProviderKind.OFFLINE: OfflineClient(),
    ProviderKind.LOCAL: LocalClient(),
}


def client_for(provider: ChatbotProvider | None) -> ChatClient:
    """The adapter for the provider's kind; no provider means the built-in offline one."""
    kind = ProviderKind.OFFLINE if provider is None else provider.kind
    client = CLIENTS.get(kind)
    if client is None:
        raise ProviderMisconfigured(f"Provider kind {kind!r} has no client.")
    return client


def stream_chat(
    *,
    provider: ChatbotProvider | None,
    messages: Sequence[ChatMessage],
    model: str = "",
    temperature: float = 0.2,
    max_tokens: int = 800,
    passages: Sequence[str] = (),
    question: str = "",
) -> Iterator[StreamEvent]:
    """Yield TextDelta events, then one Usage. Raises ProviderError subclasses.

    `provider=None` is the built-in offline answerer. `passages` and `question` are only read by the
    offline kind (network models find both inside `messages`). Transient failures are retried before the first
    event only; after it, an error ends the stream.
    """
    yield from client_for(provider).stream_chat(
        provider,
        messages,
        model=model,
        temperature=temperature,
        max_tokens=max_tokens,
        passages=passages,
        question=question,
    )


def embed_texts(
    *, provider: ChatbotProvider | None, texts: Sequence[str], model: str, dimensions: int
) -> list[list[float]]:
    """Embed `texts` with `model` (empty: the provider's default), asking for `dimensions`-long vectors.
    `provider=None` is the built-in offline embedder. Raises ProviderError subclasses."""
    if not texts:
        return []
    return client_for(provider).embed(provider, texts, model=model, dimensions=dimensions)
