"""Reads of the documents app, always scoped to one organization."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.documents.models import Chunk, Collection, Document, DocumentStatus
from apps.documents.types import mime_of_kind
from common.core.errors import NotFound, PermissionDeniedError, ValidationFailed


def collection_get(*, organization: Any, collection_id: Any) -> Collection:
    collection = Collection.objects.for_org(organization).filter(pk=collection_id).first()
    if collection is None:
        raise NotFound("Collection not found.")
    return collection


def collection_list(*, organization: Any, collection_ids: Iterable[Any] | None = None) -> QuerySet[Collection]:
    """The organization's collections, newest first; only `collection_ids` for an API key restricted to them."""
    collections = Collection.objects.for_org(organization).order_by("-created_at")
    if collection_ids is not None:
        collections = collections.filter(pk__in=collection_ids)
    return collections


def collection_overview(*, organization: Any) -> QuerySet[Collection]:
    """The organization's collections by name, each with its document counts (`document_count`, `ready`, `busy`,
    `failed`) and chunk total (`chunks`): the documents page."""
    busy = (DocumentStatus.QUEUED, DocumentStatus.PROCESSING)
    return (
        Collection.objects.for_org(organization)
        .annotate(
            document_count=Count("documents"),
            ready=Count("documents", filter=Q(documents__status=DocumentStatus.READY)),
            busy=Count("documents", filter=Q(documents__status__in=busy)),
            failed=Count("documents", filter=Q(documents__status=DocumentStatus.FAILED)),
        )
        .order_by("name")
    )


def document_search(
    *, organization: Any, collection: Collection, title: str = "", status: str = "", kind: str = ""
) -> QuerySet[Document]:
    """A collection's documents, newest first, narrowed by words of the title, a status and a type key
    (apps.documents.types.KINDS); unknown statuses and types are refused."""
    documents = document_list(organization=organization, collection=collection, status=status)
    if kind:
        mime_type = mime_of_kind(kind)
        if mime_type is None:
            raise ValidationFailed(details={"type": ["Unknown document type."]})
        documents = documents.filter(mime_type=mime_type)
    for word in title.split()[:8]:
        documents = documents.filter(title__icontains=word)
    return documents.order_by("-created_at", "-pk")


def document_list(
    *,
    organization: Any,
    collection: Collection | None = None,
    status: str = "",
    collection_ids: Iterable[Any] | None = None,
) -> QuerySet[Document]:
    """The organization's documents, optionally of one collection, one status, and (for an API key limited to
    some collections) only those collections."""
    documents = Document.objects.for_org(organization).select_related("collection")
    if collection is not None:
        documents = documents.filter(collection=collection)
    if collection_ids is not None:
        documents = documents.filter(collection_id__in=collection_ids)
    if status:
        if status not in DocumentStatus.values:
            raise ValidationFailed(details={"status": [f"Choose one of {', '.join(DocumentStatus.values)}."]})
        documents = documents.filter(status=status)
    return documents


def document_get(*, organization: Any, document_id: Any) -> Document:
    document = Document.objects.for_org(organization).select_related("collection").filter(pk=document_id).first()
    if document is None:
        raise NotFound("Document not found.")
    return document


def chunk_list(*, organization: Any, document: Document) -> QuerySet[Chunk]:
    return Chunk.objects.for_org(organization).filter(document=document).order_by("ordinal")


def document_diagnostics(*, document: Document, samples: int = 3) -> dict[str, Any]:
    """What happened to the document: pages, characters, chunks, a few samples, and the exact failure."""
    stored = document.diagnostics or {}
    sample_chunks = [
        {
            "ordinal": c.ordinal,
            "page": c.page_number,
            "heading": " > ".join(c.heading_path or []),
            "token_count": c.token_count,
            "text": c.text[:400],
        }
        for c in Chunk.objects.for_org(document.organization_id).filter(document=document).order_by("ordinal")[:samples]
    ]
    return {
        "pages_parsed": stored.get("pages_parsed"),
        "page_count": document.page_count,
        "empty_pages": stored.get("empty_pages", []),
        "characters_extracted": stored.get("characters_extracted"),
        "chunk_count": document.chunk_count,
        "token_count": document.token_count,
        "attempts": document.attempts,
        "sample_chunks": sample_chunks,
        "failure": (
            {
                "code": document.error_code,
                "message": document.error_message,
                "stage": stored.get("failed_stage", ""),
                "details": stored.get("error_details", {}),
            }
            if document.status == DocumentStatus.FAILED
            else None
        ),
    }


def search_collection_ids(
    *, organization: Any, requested: list[Any] | None, allowed: frozenset[str] | None
) -> list[Any] | None:
    """The collections a search covers: those requested, checked against `allowed`, the collections an API key
    is restricted to (None: no restriction). None means the whole organization."""
    collection_ids = list(requested or [])
    if allowed is not None:
        if not collection_ids:
            collection_ids = list(
                Collection.objects.for_org(organization).filter(pk__in=allowed).values_list("pk", flat=True)
            )
            if not collection_ids:
                raise PermissionDeniedError(
                    "This API key's collections no longer exist.", details={"restricted": "collection"}
                )
        for collection_id in collection_ids:
            if str(collection_id) not in allowed:
                raise PermissionDeniedError(
                    "This API key is restricted to other collections.",
                    details={"restricted": "collection", "resource_id": str(collection_id)},
                )
    if collection_ids:
        known = set(Collection.objects.for_org(organization).filter(pk__in=collection_ids).values_list("pk", flat=True))
        unknown = [str(c) for c in collection_ids if c not in known]
        if unknown:
            raise ValidationFailed(details={"collection_ids": [f"Unknown collection: {', '.join(unknown)}."]})
    return collection_ids or None
