"""Provider interface (minimal placeholder: only the offline embedder is wired)."""

from __future__ import annotations

from collections.abc import Sequence

from apps.chatbot_provider.models import ChatbotProvider, ProviderKind
from apps.chatbot_provider.offline import hashing_embed


def embed_texts(*, provider: ChatbotProvider, texts: Sequence[str], model: str, dimensions: int) -> list[list[float]]:
    if provider.kind == ProviderKind.OFFLINE:
        return hashing_embed(texts, dimensions=dimensions)
    raise NotImplementedError(f"Embedding with {provider.kind} providers is not available yet.")
