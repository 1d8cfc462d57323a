"""Embeddings for a collection's texts, in batches, through the collection's provider (offline when none)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.conf import settings

from apps.chatbot_provider import offline
from apps.chatbot_provider import services as provider_services
from apps.documents.models import Collection
from apps.documents.services.errors import EmbeddingDimensionMismatch


def check_dimensions(collection: Collection) -> None:
    expected = int(settings.EMBEDDING_DIMENSIONS)
    if collection.embedding_dimensions != expected:
        raise EmbeddingDimensionMismatch(
            f"Collection '{collection.name}' uses {collection.embedding_dimensions}-dimensional embeddings, "
            f"but this deployment stores {expected} (EMBEDDING_DIMENSIONS).",
            details={"collection_dimensions": collection.embedding_dimensions, "deployment_dimensions": expected},
        )


def embed_for_collection(
    *,
    collection: Collection,
    texts: Sequence[str],
    batch_size: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> list[list[float]]:
    """One vector per text. on_batch(done, total) is called after each batch (progress)."""
    check_dimensions(collection)
    size = batch_size or int(settings.DOCUMENTS_EMBED_BATCH_SIZE)
    dimensions = collection.embedding_dimensions
    vectors: list[list[float]] = []
    for start in range(0, len(texts), size):
        batch = list(texts[start : start + size])
        if collection.embedding_provider_id is None:
            result = offline.hashing_embed(batch, dimensions=dimensions)
        else:
            assert collection.embedding_provider is not None
            result = provider_services.embed_texts(
                provider=collection.embedding_provider,
                texts=batch,
                model=collection.embedding_model,
                dimensions=dimensions,
            )
        if len(result) != len(batch) or any(len(v) != dimensions for v in result):
            raise EmbeddingDimensionMismatch(
                f"The provider returned vectors of the wrong size for model {collection.embedding_model} "
                f"(expected {len(batch)} x {dimensions}).",
            )
        vectors.extend(result)
        if on_batch is not None:
            on_batch(len(vectors), len(texts))
    return vectors


def embed_query(*, collection: Collection, query: str) -> list[float]:
    return embed_for_collection(collection=collection, texts=[query])[0]


def is_transient(exc: BaseException) -> bool:
    """Provider errors that may succeed on retry declare `transient = True` on their class."""
    return bool(getattr(type(exc), "transient", False))
