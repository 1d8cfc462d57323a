"""Embeddings for a collection's texts, in batches, through the collection's provider (offline when none)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.conf import settings

from apps.chatbot_provider.clients import embed_texts
from apps.chatbot_provider.local_model import DIMENSIONS as LOCAL_DIMENSIONS
from apps.chatbot_provider.models import OFFLINE_EMBEDDING_MODEL, ProviderKind
from apps.documents.models import Collection
from apps.documents.services.errors import EmbeddingDimensionMismatch, EmbeddingModelUnsupported

# Known embedding models: (largest dimension, whether a smaller one can be asked for). Models not listed here
# (an OpenAI-compatible server's own) are checked when the first document is embedded.
KNOWN_EMBEDDING_MODELS: dict[str, tuple[int, bool]] = {
    "text-embedding-3-small": (1536, True),
    "text-embedding-3-large": (3072, True),
    "text-embedding-ada-002": (1536, False),
    "text-embedding-004": (768, True),
    "gemini-embedding-001": (3072, True),
    "embedding-001": (768, False),
}


def embedding_dimensions_supported(*, kind: str, model: str, dimensions: int) -> bool | None:
    """Whether `model` of a provider of `kind` can produce `dimensions`-long vectors; None when unknown."""
    if kind == ProviderKind.OFFLINE or model == OFFLINE_EMBEDDING_MODEL:
        return True  # the hashing embedder produces any dimension
    if kind == ProviderKind.LOCAL:
        return dimensions >= LOCAL_DIMENSIONS  # zero-padded to the deployment's size (cosine unchanged)
    known = KNOWN_EMBEDDING_MODELS.get(model.removeprefix("models/"))
    if known is None:
        return None
    largest, adjustable = known
    return dimensions <= largest if adjustable else dimensions == largest


def check_model_dimensions(*, kind: str, model: str) -> None:
    """Refuse a collection whose embedding model is known not to produce the deployment's dimension."""
    deployment = int(settings.EMBEDDING_DIMENSIONS)
    if embedding_dimensions_supported(kind=kind, model=model, dimensions=deployment) is False:
        raise EmbeddingModelUnsupported(
            f"The embedding model {model} cannot produce the {deployment}-dimensional vectors this deployment "
            f"stores (EMBEDDING_DIMENSIONS). Choose a model that can.",
            details={"embedding_model": model, "provider_kind": kind, "deployment_dimensions": deployment},
        )


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
        result = embed_texts(
            provider=collection.embedding_provider,  # None: the offline embedder
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


def embedder_is_lexical(collection: Collection) -> bool:
    """Whether the collection is embedded by the offline hashing embedder (a lexical signal) rather than a neural
    model: fusion weights and relevance floors are calibrated per kind (ADR 0016)."""
    provider = collection.embedding_provider
    return (
        provider is None
        or provider.kind == ProviderKind.OFFLINE
        or collection.embedding_model == OFFLINE_EMBEDDING_MODEL
    )


def embed_query(*, collection: Collection, query: str) -> list[float]:
    return embed_for_collection(collection=collection, texts=[query])[0]


def is_transient(exc: BaseException) -> bool:
    """Provider errors that may succeed on retry declare `transient = True` on their class."""
    return bool(getattr(type(exc), "transient", False))
