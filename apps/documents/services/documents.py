"""Writes on collections and documents: create (upload, URL, pasted text), reindex, delete, with quotas,
de-duplication by content hash and audit records. Indexing itself runs on a worker (pipeline.py)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connections, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from apps.chatbot_provider.models import OFFLINE_EMBEDDING_MODEL, ChatbotProvider, ProviderKind
from apps.documents.models import (
    Chunk,
    Collection,
    Document,
    DocumentSource,
    DocumentStage,
    DocumentStatus,
)
from apps.documents.services.embed import check_model_dimensions
from apps.documents.services.errors import (
    DocumentQuotaExceeded,
    DocumentTooLarge,
    EmbeddingDimensionMismatch,
    TooManyFiles,
    UnsupportedType,
    UploadRequestTooLarge,
)
from apps.documents.services.extract import MARKDOWN, TEXT, detect_type
from apps.documents.services.fetch import validate_url
from apps.documents.services.queue import enqueue_index
from apps.organizations.actors import Actor
from apps.organizations.audit import AuditAction, audit_event, audit_record
from apps.organizations.models import Organization
from common.core.errors import Conflict, ValidationFailed
from common.core.inserts import insert_rows
from common.core.rows import JoinedColumns
from common.core.statements import Statement
from common.events import EventType, emit


def document_event_payload(document: Document) -> dict[str, Any]:
    """What subscribers (realtime, webhooks) hear about a document: ids, title, status, the failure if any."""
    return {
        "document_id": str(document.pk),
        "collection_id": str(document.collection_id),
        "title": document.title,
        "status": document.status,
        "error_code": document.error_code,
        "error_message": document.error_message,
        "chunk_count": document.chunk_count,
    }


def _enqueue(document: Document, *, new: bool = False) -> None:
    enqueue_index(organization_id=str(document.organization_id), document_id=str(document.pk), new=new)


# --- collections ---------------------------------------------------------------------------------------


@transaction.atomic
def collection_create(
    *,
    organization: Organization,
    actor: Actor,
    name: str,
    description: str = "",
    embedding_provider: ChatbotProvider | None = None,
    embedding_provider_id: Any = None,
    embedding_model: str | None = None,
    embedding_dimensions: int | None = None,
) -> Collection:
    """A collection whose embedding model is fixed now: refused when it cannot produce the deployment's
    dimension. The provider is given as an object or by id (an id of another organization is unknown)."""
    if embedding_provider is None and embedding_provider_id is not None:
        embedding_provider = ChatbotProvider.objects.for_org(organization).filter(pk=embedding_provider_id).first()
        if embedding_provider is None:
            raise ValidationFailed(details={"embedding_provider_id": ["Unknown provider."]})
    deployment = int(settings.EMBEDDING_DIMENSIONS)
    if embedding_dimensions is not None and embedding_dimensions != deployment:
        raise EmbeddingDimensionMismatch(
            f"This deployment stores {deployment}-dimensional embeddings; a collection with "
            f"{embedding_dimensions} dimensions cannot be created. Choose a model that can produce {deployment}.",
            details={"requested_dimensions": embedding_dimensions, "deployment_dimensions": deployment},
        )
    if embedding_provider is not None and embedding_provider.organization_id != organization.pk:
        raise ValidationFailed(details={"embedding_provider_id": ["Unknown provider."]})
    model = embedding_model or (
        (embedding_provider.default_embedding_model if embedding_provider else "") or OFFLINE_EMBEDDING_MODEL
    )
    check_model_dimensions(kind=embedding_provider.kind if embedding_provider else ProviderKind.OFFLINE, model=model)
    if Collection.objects.for_org(organization).filter(name=name).exists():
        raise Conflict(f"A collection named '{name}' already exists.", details={"name": ["Already in use."]})
    collection = Collection.objects.create(
        organization=organization,
        name=name,
        description=description,
        embedding_provider=embedding_provider,
        embedding_model=model,
        embedding_dimensions=deployment,
        created_by=actor.user,
    )
    audit_record(actor=actor, action=AuditAction.COLLECTION_CREATED, target=collection, data={"name": name})
    return collection


@transaction.atomic
def collection_update(
    *, collection: Collection, actor: Actor, name: str | None = None, description: str | None = None
) -> Collection:
    if name is not None and name != collection.name:
        if Collection.objects.for_org(collection.organization_id).filter(name=name).exists():
            raise Conflict(f"A collection named '{name}' already exists.", details={"name": ["Already in use."]})
        collection.name = name
    if description is not None:
        collection.description = description
    collection.save()
    audit_record(actor=actor, action=AuditAction.COLLECTION_UPDATED, target=collection, data={"name": collection.name})
    return collection


def _delete_files_on_commit(names: Sequence[str]) -> None:
    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


@transaction.atomic
def collection_delete(*, collection: Collection, actor: Actor) -> None:
    names = [
        n
        for n in Document.objects.for_org(collection.organization_id)
        .filter(collection=collection)
        .values_list("file", flat=True)
        if n
    ]
    audit_record(actor=actor, action=AuditAction.COLLECTION_DELETED, target=collection, data={"name": collection.name})
    collection.delete()
    _delete_files_on_commit(names)


# --- quotas --------------------------------------------------------------------------------------------


# An upload's reads, compiled once per process (ADR 0134): the ORM built and compiled them for every upload, several
# times what running them costs.
_USAGE = Statement(
    lambda organization_id: (
        Document.objects.for_org(organization_id)
        .values("organization_id")
        .annotate(documents=Count("id"), bytes=Sum("size_bytes"))
        .values_list("documents", "bytes")
    ),
    organization_id=uuid.uuid4(),
)
_SAME_CONTENT = Statement(
    lambda organization_id, collection_id, sha256: (
        Document.objects.for_org(organization_id)
        .filter(collection_id=collection_id, sha256=sha256)
        .order_by("created_at")
        .values_list("pk")[:1]
    ),
    organization_id=uuid.uuid4(),
    collection_id=uuid.uuid4(),
    sha256=f"sample-{uuid.uuid4().hex}",
)


def organization_usage(*, organization: Organization | Any) -> dict[str, int]:
    """How many documents the organization (or its id) holds, and their bytes."""
    organization_id = getattr(organization, "pk", organization)
    rows = _USAGE.rows(organization_id=organization_id)
    documents, size = rows[0] if rows else (0, 0)
    return {"documents": int(documents or 0), "bytes": int(size or 0)}


@cache
def _organization_lock() -> tuple[JoinedColumns, str]:
    """The organization's columns and the statement string of `_lock_organization` (built once per process)."""
    columns = JoinedColumns((Organization, "o"))
    table = connections[columns.using].ops.quote_name(Organization._meta.db_table)
    return columns, f"SELECT {columns.select} FROM {table} o WHERE o.id = %s FOR NO KEY UPDATE"


def _lock_organization(organization_id: Any) -> Organization:
    """The organization's row, locked until the transaction ends, so that concurrent uploads cannot both squeeze under
    the limit (NO KEY UPDATE: rows referencing the organization can still be inserted meanwhile); a statement string
    built once per process (ADR 0134)."""
    columns, sql = _organization_lock()
    with connections[columns.using].cursor() as cursor:
        cursor.execute(sql, [organization_id])
        row = cursor.fetchone()
    if row is None:
        raise Organization.DoesNotExist("Organization matching query does not exist.")
    organization = columns.instances(row)[0]
    assert isinstance(organization, Organization)
    return organization


def _check_quota(*, organization: Organization, new_documents: int, new_bytes: int, locked: bool = False) -> None:
    """Refuse what would exceed the organization's limits; `locked`: the caller holds the organization's lock
    (and `organization` was read under it)."""
    org = organization if locked else _lock_organization(organization.pk)
    max_documents = org.max_documents if org.max_documents is not None else settings.DOCUMENTS_MAX_PER_ORG
    max_bytes = org.max_document_bytes if org.max_document_bytes is not None else settings.DOCUMENTS_MAX_BYTES_PER_ORG
    usage = organization_usage(organization=org)
    if usage["documents"] + new_documents > max_documents:
        raise DocumentQuotaExceeded(
            f"The organization may hold {max_documents:,} documents; it has {usage['documents']:,}.",
            details={"limit": max_documents, "used": usage["documents"], "requested": new_documents},
        )
    if usage["bytes"] + new_bytes > max_bytes:
        raise DocumentQuotaExceeded(
            f"The organization may store {max_bytes:,} bytes of documents; it uses {usage['bytes']:,}.",
            details={"limit_bytes": max_bytes, "used_bytes": usage["bytes"], "requested_bytes": new_bytes},
        )


# --- documents -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentCreated:
    document: Document
    created: bool  # False when identical content already existed in the collection


@dataclass(frozen=True)
class _Incoming:
    content: File[Any]  # streamed to storage in chunks; never held whole in memory for uploads
    size: int
    name: str
    mime_type: str
    sha256: str


# Multipart framing (boundaries, part headers, form fields) on top of the files themselves.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# Enough of a file to recognise text formats; zip archives are opened from the file itself.
_HEAD_BYTES = 64 * 1024


def upload_request_check(*, content_length: str | None) -> None:
    """Refuse an upload request from its declared length alone, before its body is read or spooled."""
    max_files = int(settings.DOCUMENTS_MAX_FILES_PER_UPLOAD)
    max_file_bytes = int(settings.DOCUMENT_MAX_UPLOAD_BYTES)
    limit = max_files * max_file_bytes + MULTIPART_OVERHEAD_BYTES
    try:
        declared = int(content_length or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise UploadRequestTooLarge(
            f"The request is {declared:,} bytes; an upload may carry at most {max_files} files "
            f"of {max_file_bytes:,} bytes each.",
            details={"size": declared, "limit": limit, "max_files": max_files, "max_file_bytes": max_file_bytes},
        )


def _read_upload(upload: UploadedFile) -> _Incoming:
    """Size, hash and type of one upload, read in chunks (Django spools large uploads to disk)."""
    limit = int(settings.DOCUMENT_MAX_UPLOAD_BYTES)
    name = (upload.name or "")[:255]
    if upload.size is not None and upload.size > limit:
        raise DocumentTooLarge(
            f"'{name}' is {upload.size:,} bytes; the limit is {limit:,}.",
            details={"file": name, "size": upload.size, "limit": limit},
        )
    digest = hashlib.sha256()
    head = b""
    size = 0
    for piece in upload.chunks():
        size += len(piece)
        if size > limit:
            raise DocumentTooLarge(
                f"'{name}' is over the {limit:,}-byte limit.", details={"file": name, "limit": limit}
            )
        if len(head) < _HEAD_BYTES:
            head += piece[: _HEAD_BYTES - len(head)]
        digest.update(piece)
    if not size:
        raise UnsupportedType(f"'{name}' is empty.", details={"file": name})
    upload.seek(0)
    try:
        mime = detect_type(head, declared_name=name, declared_type=upload.content_type or "", archive=upload.file)
    except UnsupportedType as exc:
        raise UnsupportedType(f"'{name}': {exc.message}", details={"file": name, **exc.details}) from None
    upload.seek(0)
    return _Incoming(content=upload, size=size, name=name, mime_type=mime, sha256=digest.hexdigest())


def _title_from_name(name: str) -> str:
    stem = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return stem.replace("_", " ").strip()[:300] or "Untitled document"


def _existing(collection: Collection, sha256: str) -> Document | None:
    """The collection's document with this content, if any (usually none: only its id is looked for first)."""
    found = _SAME_CONTENT.rows(organization_id=collection.organization_id, collection_id=collection.pk, sha256=sha256)
    if not found:
        return None
    return Document.objects.for_org(collection.organization_id).filter(pk=found[0][0]).first()


def _store(
    *,
    collection: Collection,
    actor: Actor,
    incoming: _Incoming,
    source: str,
    title: str,
) -> DocumentCreated:
    document = Document(
        organization_id=collection.organization_id,
        collection=collection,
        source=source,
        original_filename=incoming.name if source == DocumentSource.UPLOAD else "",
        title=title,
        mime_type=incoming.mime_type,
        size_bytes=incoming.size,
        sha256=incoming.sha256,
        status=DocumentStatus.QUEUED,
        stage=DocumentStage.QUEUED,
        queued_at=timezone.now(),
        created_by=actor.user,
    )
    document.file.save("upload", incoming.content, save=False)
    audit = audit_event(
        actor=actor,
        action=AuditAction.DOCUMENT_CREATED,
        target=document,
        data={"title": document.title, "source": source, "bytes": document.size_bytes},
    )
    try:
        with transaction.atomic():  # a savepoint: the unique constraint may refuse the row
            # The document and its audit event in one round trip (nothing listens to either being saved; ADR 0134).
            insert_rows(document, audit)
    except IntegrityError:
        # Another writer stored the same content in this collection since we looked: answer with theirs.
        default_storage.delete(document.file.name)
        existing = _existing(collection, incoming.sha256)
        if existing is None:
            raise
        return DocumentCreated(existing, created=False)
    _enqueue(document, new=True)
    emit(EventType.DOCUMENT_CREATED, organization=document.organization_id, payload=document_event_payload(document))
    return DocumentCreated(document, created=True)


def _create_many(
    *, collection: Collection, actor: Actor, items: Sequence[tuple[_Incoming, str]], source: str
) -> list[DocumentCreated]:
    # Look for existing content only once the organization is locked, so that two requests carrying the same
    # content cannot both miss each other; the unique constraint (collection, sha256) backs this up.
    organization = _lock_organization(collection.organization_id)
    results: list[DocumentCreated] = []
    fresh: list[tuple[_Incoming, str]] = []
    seen: set[str] = set()
    for incoming, title in items:
        existing = _existing(collection, incoming.sha256)
        if existing is not None:
            if existing.status == DocumentStatus.FAILED:
                _requeue(existing)
            results.append(DocumentCreated(existing, created=False))
        elif incoming.sha256 not in seen:
            seen.add(incoming.sha256)
            fresh.append((incoming, title))
    if fresh:
        _check_quota(
            organization=organization,
            new_documents=len(fresh),
            new_bytes=sum(incoming.size for incoming, _ in fresh),
            locked=True,
        )
    for incoming, title in fresh:
        results.append(_store(collection=collection, actor=actor, incoming=incoming, source=source, title=title))
    return results


@transaction.atomic
def document_create_from_uploads(
    *, collection: Collection, actor: Actor, files: Sequence[UploadedFile]
) -> list[DocumentCreated]:
    """Validate every file (size, then type from content) before storing any; identical content is reused.
    Files are read in chunks, one at a time, and streamed to storage."""
    if not files:
        raise ValidationFailed("Attach at least one file.", details={"files": ["No file was submitted."]})
    max_files = int(settings.DOCUMENTS_MAX_FILES_PER_UPLOAD)
    if len(files) > max_files:
        raise TooManyFiles(
            f"{len(files)} files were sent; one request may carry at most {max_files}.",
            details={"files": len(files), "max_files": max_files},
        )
    incoming = [_read_upload(upload) for upload in files]
    return _create_many(
        collection=collection,
        actor=actor,
        items=[(item, _title_from_name(item.name)) for item in incoming],
        source=DocumentSource.UPLOAD,
    )


@transaction.atomic
def document_create_from_text(*, collection: Collection, actor: Actor, title: str, text: str) -> DocumentCreated:
    data = text.encode("utf-8")
    limit = int(settings.DOCUMENT_MAX_UPLOAD_BYTES)
    if len(data) > limit:
        raise DocumentTooLarge(f"The text is {len(data):,} bytes; the limit is {limit:,}.")
    if not text.strip():
        raise ValidationFailed(details={"text": ["The text is empty."]})
    mime = MARKDOWN if detect_type(data) == MARKDOWN else TEXT
    incoming = _Incoming(
        content=ContentFile(data), size=len(data), name="", mime_type=mime, sha256=hashlib.sha256(data).hexdigest()
    )
    return _create_many(
        collection=collection,
        actor=actor,
        items=[(incoming, title.strip()[:300] or "Pasted text")],
        source=DocumentSource.TEXT,
    )[0]


@transaction.atomic
def document_create_from_url(*, collection: Collection, actor: Actor, url: str) -> DocumentCreated:
    """The URL is fetched by the worker (SSRF checks, size and time bounds there); here it is only queued."""
    validate_url(url)
    existing = (
        Document.objects.for_org(collection.organization_id)
        .filter(collection=collection, source=DocumentSource.URL, source_url=url)
        .exclude(status=DocumentStatus.FAILED)
        .first()
    )
    if existing is not None:
        return DocumentCreated(existing, created=False)
    _check_quota(organization=collection.organization, new_documents=1, new_bytes=0)
    document = Document.objects.create(
        organization_id=collection.organization_id,
        collection=collection,
        source=DocumentSource.URL,
        source_url=url,
        title=url[:300],
        queued_at=timezone.now(),
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action=AuditAction.DOCUMENT_CREATED,
        target=document,
        data={"url": url, "source": DocumentSource.URL},
    )
    emit(EventType.DOCUMENT_CREATED, organization=document.organization_id, payload=document_event_payload(document))
    _enqueue(document, new=True)
    return DocumentCreated(document, created=True)


def _requeue(document: Document) -> None:
    Chunk.objects.for_org(document.organization_id).filter(document=document).delete()
    document.status = DocumentStatus.QUEUED
    document.stage = DocumentStage.QUEUED
    document.progress = 0
    document.error_code = ""
    document.error_message = ""
    document.chunk_count = 0
    document.token_count = 0
    document.attempts = 0
    document.queued_at = timezone.now()
    document.finished_at = None
    document.save()
    _enqueue(document)


@transaction.atomic
def document_reindex(*, document: Document, actor: Actor) -> Document:
    """Back to the queue: its chunks leave search until the new ones are written."""
    locked = Document.objects.for_org(document.organization_id).select_for_update().get(pk=document.pk)
    _requeue(locked)
    audit_record(actor=actor, action=AuditAction.DOCUMENT_REINDEXED, target=locked, data={"title": locked.title})
    return locked


@transaction.atomic
def document_delete(*, document: Document, actor: Actor) -> None:
    name = document.file.name if document.file else ""
    audit_record(actor=actor, action=AuditAction.DOCUMENT_DELETED, target=document, data={"title": document.title})
    emit(
        EventType.DOCUMENT_DELETED,
        organization=document.organization_id,
        payload={"document_id": str(document.pk), "collection_id": str(document.collection_id)},
    )
    document.delete()  # chunks cascade
    if name:
        _delete_files_on_commit([name])


BULK_LIMIT = 500  # documents per bulk action (one page of the documents table is 50)


@transaction.atomic
def document_bulk_action(*, collection: Collection, actor: Actor, document_ids: Sequence[Any], action: str) -> int:
    """Reindex or delete the collection's documents among `document_ids`, each as if done one by one (its own
    audit record and event); ids of other collections or organizations are ignored. Returns how many."""
    if action not in ("reindex", "delete"):
        raise ValidationFailed(details={"action": ["Choose reindex or delete."]})
    if len(document_ids) > BULK_LIMIT:
        raise ValidationFailed(f"At most {BULK_LIMIT} documents at once.", details={"documents": ["Too many."]})
    documents = list(
        Document.objects.for_org(collection.organization_id)
        .filter(collection=collection, pk__in=list(document_ids))
        .order_by("pk")
    )
    for document in documents:
        if action == "reindex":
            document_reindex(document=document, actor=actor)
        else:
            document_delete(document=document, actor=actor)
    return len(documents)
