"""The local kind: a real sentence-embedding model (all-MiniLM-L6-v2) on this machine's CPU, nothing downloaded.

Embeddings come from `apps.chatbot_provider.local_model` (the optional extra requirements/local-embedder.txt);
answers are the offline kind's extractive ones. Without the extra installed, every call says what to install.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from apps.chatbot_provider import local_model
from apps.chatbot_provider.clients.offline import OfflineClient
from apps.chatbot_provider.clients.protocol import ChatMessage, StreamEvent
from apps.chatbot_provider.errors import ProviderMisconfigured
from apps.chatbot_provider.models import OFFLINE_CHAT_MODEL, ChatbotProvider


def require_local_model() -> None:
    if not local_model.available():
        raise ProviderMisconfigured(
            f"The local embedding model is not installed on this server ({local_model.INSTALL_HINT})."
        )


class LocalClient:
    uses_network = False
    required_fields: Mapping[str, str] = {}
    default_chat_model = OFFLINE_CHAT_MODEL
    default_embedding_model = local_model.MODEL_NAME

    def __init__(self) -> None:
        self._answerer = OfflineClient()

    def stream_chat(
        self,
        provider: ChatbotProvider | None,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
        passages: Sequence[str],
        question: str,
    ) -> Iterator[StreamEvent]:
        yield from self._answerer.stream_chat(
            provider,
            messages,
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            passages=passages,
            question=question,
        )

    def embed(
        self, provider: ChatbotProvider | None, texts: Sequence[str], *, model: str, dimensions: int
    ) -> list[list[float]]:
        require_local_model()
        if model and model != local_model.MODEL_NAME:
            raise ProviderMisconfigured(f"The local provider runs {local_model.MODEL_NAME} only, not {model}.")
        return local_model.embed(list(texts), dimensions=dimensions)
