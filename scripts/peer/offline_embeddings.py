"""Docent's offline embedder as a LangChain `Embeddings`, so that both sides embed with the same code."""

from __future__ import annotations

import sys
from pathlib import Path

from langchain_core.embeddings import Embeddings

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from apps.chatbot_provider.offline import hashing_embed  # NumPy, no Django


class OfflineEmbeddings(Embeddings):
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return hashing_embed(texts, dimensions=self.dimensions)

    def embed_query(self, text: str) -> list[float]:
        return hashing_embed([text], dimensions=self.dimensions)[0]
