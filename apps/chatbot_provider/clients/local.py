"""The local kind: a real sentence-embedding model (all-MiniLM-L6-v2) on this machine's CPU, nothing downloaded.

Embeddings come from `apps.chatbot_provider.local_model` (the optional extra requirements/local-embedder.txt);
answers are the offline kind's extractive ones. Without the extra installed, every call says what to install.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.chatbot_provider import local_model
from apps.chatbot_provider.clients.offline import OfflineClient
from apps.chatbot_provider.errors import ProviderMisconfigured
from apps.chatbot_provider.models import ChatbotProvider


def require_local_model() -> None:
    if not local_model.available():
        raise ProviderMisconfigured(
            f"The local embedding model is not installed on this server ({local_model.INSTALL_HINT})."
        )


class LocalClient(OfflineClient):
    """The offline client's extractive answers, with MiniLM's embeddings instead of the hashing embedder's."""

    default_embedding_model = local_model.MODEL_NAME

    def embed(
        self, provider: ChatbotProvider | None, texts: Sequence[str], *, model: str, dimensions: int
    ) -> list[list[float]]:
        require_local_model()
        if model and model != local_model.MODEL_NAME:
            raise ProviderMisconfigured(f"The local provider runs {local_model.MODEL_NAME} only, not {model}.")
        return local_model.embed(list(texts), dimensions=dimensions)
