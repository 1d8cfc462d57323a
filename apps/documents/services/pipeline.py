"""The indexing pipeline: fetch (URLs) → extract → normalise → chunk → embed in batches → write all chunks
in one transaction → ready. Progress and stage are saved as it goes; every failure the user can act on
ends the document `failed` with a code and a message. Running it twice gives the same chunks.

A task may carry several small documents of one organization (ADR 0128): they are claimed in one statement,
prepared one after the other, and written together (one transaction, one COPY); a document that fails fails
alone."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.chatbot_provider.models import ChatbotProvider
from apps.documents.models import Chunk, Collection, Document, DocumentSource, DocumentStage, DocumentStatus
from apps.documents.services.chunk import chunk_sections
from apps.documents.services.chunk_write import chunk_rows, chunks_copy
from apps.documents.services.documents import document_event_payload, organization_usage
from apps.documents.services.embed import embed_for_collection, is_transient
from apps.documents.services.errors import (
    IndexingAbandoned,
    PipelineError,
    StorageQuotaReached,
    UnsupportedContent,
    UnsupportedType,
)
from apps.documents.services.extract import HTML, decode_text, detect_type, extract
from apps.documents.services.fetch import fetch_url
from apps.documents.services.queue import documents_dispatch
from common.events import EventType, emit

logger = logging.getLogger(__name__)


def _stage(document: Document, stage: str, progress: int) -> None:
    """Save stage and progress (outside any transaction), so the UI sees them: at most every
    DOCUMENTS_PROGRESS_SAVE_SECONDS per document, so that small documents are not mostly progress writes. A
    failure records the stage it happened in from memory (document_index), whatever was saved last."""
    document.stage = stage
    document.progress = progress
    delay = getattr(settings, "DOCUMENTS_TEST_STAGE_DELAY", None)
    now = time.monotonic()
    if not delay and now - _progress_saved.get(document.pk, 0.0) < float(settings.DOCUMENTS_PROGRESS_SAVE_SECONDS):
        return
    _progress_saved[document.pk] = now
    with transaction.atomic():
        # Progress is advisory: no need to wait for the disk (a crash loses at most a progress tick).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        Document.objects.for_org(document.organization_id).filter(pk=document.pk).update(
            stage=stage, progress=progress, updated_at=timezone.now()
        )
    if delay:
        time.sleep(float(delay))


# document id → when this worker process last saved its progress (monotonic); entries leave when it ends
_progress_saved: dict[Any, float] = {}


def _lease_until(now: Any) -> Any:
    return now + timedelta(seconds=float(settings.DOCUMENTS_LEASE_SECONDS))


def _claim(*, organization_id: str, document_ids: Sequence[Any], lease_owner: str) -> list[Document]:
    """Mark the documents processing under a lease held by `lease_owner` and return them (in the order asked),
    leaving out those with nothing to do: ready, failed, deleted, or processing under another owner's live
    lease (a second delivery of a document a live worker is indexing). The same owner may claim again (a
    retry, or the broker redelivering the message of a worker that died).

    One statement (ADR 0120), however many documents (ADR 0128): an `UPDATE … WHERE` each may be claimed,
    returning the documents as updated with their collection and the collection's embedding provider. The row
    locks it takes and the re-check of the conditions on the newest row version after a wait are
    PostgreSQL's, as a `SELECT … FOR UPDATE` and an `UPDATE` in one transaction did (five round trips: BEGIN,
    the commit setting, the read, the write, COMMIT)."""
    now = timezone.now()
    # A claim of its own does not wait for the disk: one lost in a crash leaves the documents as they were, and
    # the sweep sends them again (ADR 0107). Inside a caller's transaction, the caller's commit stays as it is.
    asynchronous = not connection.in_atomic_block
    wanted = [uuid.UUID(str(document_id)) for document_id in document_ids]
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(asynchronous=asynchronous),
            {
                "processing": DocumentStatus.PROCESSING,
                "done": [DocumentStatus.READY, DocumentStatus.FAILED],
                "now": now,
                "until": _lease_until(now),
                "owner": lease_owner,
                "documents": wanted,
                "organization": organization_id,
            },
        )
        rows = cursor.fetchall()
    claimed: dict[Any, Document] = {}
    for row in rows:
        values = list(row)
        document = _instance_from_row(Document, values)
        collection = _instance_from_row(Collection, values)
        provider = _instance_from_row(ChatbotProvider, values)
        collection.embedding_provider = provider if provider.pk is not None else None
        document.collection = collection
        claimed[document.pk] = document
    for document_id in wanted:
        if document_id not in claimed:
            logger.info(
                "Document %s is not claimed: ready, failed, deleted, or held by a live claim of another delivery",
                document_id,
            )
    return [claimed[document_id] for document_id in dict.fromkeys(wanted) if document_id in claimed]


_CLAIMED_MODELS = ((Document, "d"), (Collection, "c"), (ChatbotProvider, "p"))
_claim_statements: dict[bool, str] = {}


def _claim_sql(*, asynchronous: bool) -> str:
    if asynchronous not in _claim_statements:
        qn = connection.ops.quote_name
        returning = ", ".join(
            f"{alias}.{qn(field.column)}" for model, alias in _CLAIMED_MODELS for field in model._meta.concrete_fields
        )
        setting = ", (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous" if asynchronous else ""
        _claim_statements[asynchronous] = f"""
            UPDATE {qn(Document._meta.db_table)} d
               SET status = %(processing)s, attempts = d.attempts + 1, started_at = %(now)s,
                   lease_owner = %(owner)s, lease_expires_at = %(until)s, updated_at = %(now)s
              FROM {qn(Collection._meta.db_table)} c
                   LEFT JOIN {qn(ChatbotProvider._meta.db_table)} p ON p.id = c.embedding_provider_id{setting}
             WHERE d.id = ANY(%(documents)s) AND d.organization_id = %(organization)s AND c.id = d.collection_id
               AND d.status <> ALL(%(done)s)
               AND NOT (d.status = %(processing)s AND d.lease_expires_at IS NOT NULL
                        AND d.lease_expires_at > %(now)s AND d.lease_owner <> %(owner)s)
            RETURNING {returning}"""
    return _claim_statements[asynchronous]


def _instance_from_row(model: type[Any], values: list[Any]) -> Any:
    """The model instance of the first len(concrete fields) values (consumed), converted as the ORM would."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values[: len(fields)], strict=True):
        column = field.get_col(model._meta.db_table)
        for converter in [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]:
            value = converter(value, column, connection)
        converted.append(value)
    del values[: len(fields)]
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def _lease_renew(
    *, organization_id: Any, document_ids: Sequence[Any], lease_owner: str, seconds: float | None = None
) -> bool:
    """Extend the lease of the documents this claim still holds; never waits for a row lock (the final write
    may hold it, and then the lease no longer matters). Returns whether the claim still holds any of them."""
    now = timezone.now()
    until = now + timedelta(seconds=seconds) if seconds is not None else _lease_until(now)
    scoped = Document.objects.for_org(organization_id)
    with transaction.atomic():
        held = list(
            scoped.select_for_update(skip_locked=True)
            .filter(pk__in=list(document_ids), status=DocumentStatus.PROCESSING, lease_owner=lease_owner)
            .values_list("pk", flat=True)
        )
        if held:
            scoped.filter(pk__in=held).update(lease_expires_at=until)
    return bool(held)


@contextmanager
def _lease_kept(documents: Sequence[Document]) -> Iterator[None]:
    """Renew the lease of the claimed documents from a heartbeat thread while the pipeline runs: a long
    extraction or a slow provider call keeps it, a dead worker process lets it lapse."""
    stop = threading.Event()
    interval = float(settings.DOCUMENTS_HEARTBEAT_SECONDS)
    first = documents[0]
    ids = [document.pk for document in documents]

    def heartbeat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    _lease_renew(organization_id=first.organization_id, document_ids=ids, lease_owner=first.lease_owner)
                except Exception:  # a database hiccup: the next beat tries again
                    logger.warning("Lease heartbeat of document(s) %s failed", ids, exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=heartbeat, name=f"lease-{first.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def document_lease_hold(*, organization_id: str, document_ids: Sequence[str], lease_owner: str, seconds: float) -> None:
    """Keep the claim for `seconds` while its task waits to retry (so the sweep does not hand it to another)."""
    _lease_renew(organization_id=organization_id, document_ids=document_ids, lease_owner=lease_owner, seconds=seconds)


def _fetch(document: Document) -> None:
    fetched = fetch_url(
        document.source_url,
        max_bytes=int(settings.DOCUMENT_MAX_UPLOAD_BYTES),
        timeout=float(settings.URL_FETCH_TIMEOUT_SECONDS),
    )
    organization = document.collection.organization
    max_bytes = (
        organization.max_document_bytes
        if organization.max_document_bytes is not None
        else int(settings.DOCUMENTS_MAX_BYTES_PER_ORG)
    )
    used = organization_usage(organization=organization)["bytes"]
    if used + len(fetched.data) > max_bytes:
        raise StorageQuotaReached(
            f"The page is {len(fetched.data):,} bytes; the organization uses {used:,} of its {max_bytes:,}.",
            details={"limit_bytes": max_bytes, "used_bytes": used},
        )
    try:
        mime = detect_type(fetched.data, declared_type=fetched.content_type.split(";")[0].strip())
    except UnsupportedType as exc:
        raise UnsupportedContent(f"The URL's content is not supported: {exc.message}", details=exc.details) from None
    if mime == HTML:
        title = _html_title(fetched.data)
        if title:
            document.title = title[:300]
    document.mime_type = mime
    document.size_bytes = len(fetched.data)
    document.sha256 = hashlib.sha256(fetched.data).hexdigest()
    document.file.save("url", ContentFile(fetched.data), save=False)
    document.save(update_fields=["title", "mime_type", "size_bytes", "sha256", "file", "updated_at"])


def _html_title(data: bytes) -> str:
    """The page's <title> as plain text (entities decoded, one line); the prompt neutralises it like any
    other document-derived text."""
    import html
    import re

    match = re.search(r"<title[^>]*>(.*?)</title>", decode_text(data[:65536]) or "", re.IGNORECASE | re.DOTALL)
    return " ".join(html.unescape(match.group(1)).split()) if match else ""


def embedding_input(*, title: str, heading_path: tuple[str, ...] | list[str], text: str) -> str:
    """What is embedded for a chunk: its document title and headings give a short chunk its context."""
    context = " > ".join([title, *heading_path]) if title else " > ".join(heading_path)
    return f"{context}\n{text}" if context else text


@dataclass
class _Prepared:
    """A document ready to be written: its chunk drafts and their vectors."""

    document: Document
    drafts: list[Any]
    vectors: list[list[float]]
    page_count: int
    diagnostics: dict[str, Any]


# A task's prepared documents are written together until they hold this many chunks: small documents share a
# transaction and a COPY, a large one is written as soon as it is prepared (its vectors do not wait in memory).
WRITE_BATCH_CHUNKS = 256


def _run(document: Document) -> _Prepared:
    """Every stage before the write: fetch (URLs), extract, chunk, embed."""
    if document.source == DocumentSource.URL and not document.file:
        _stage(document, DocumentStage.FETCHING, 5)
        _fetch(document)
    _stage(document, DocumentStage.EXTRACTING, 10)
    with document.file.open("rb") as handle:
        data = handle.read()
    extracted = extract(data, document.mime_type)
    diagnostics: dict[str, Any] = {
        "pages_parsed": extracted.page_count - len(extracted.empty_pages) if extracted.page_count else None,
        "empty_pages": extracted.empty_pages,
        "characters_extracted": extracted.characters,
        "sections": len(extracted.sections),
        "chunk_tokens": int(settings.DOCUMENTS_CHUNK_TOKENS),
        "chunk_overlap_tokens": int(settings.DOCUMENTS_CHUNK_OVERLAP_TOKENS),
    }
    _stage(document, DocumentStage.CHUNKING, 25)
    drafts = chunk_sections(
        extracted.sections,
        chunk_tokens=int(settings.DOCUMENTS_CHUNK_TOKENS),
        overlap_tokens=int(settings.DOCUMENTS_CHUNK_OVERLAP_TOKENS),
    )
    _stage(document, DocumentStage.EMBEDDING, 30)

    def progress(done: int, total: int) -> None:
        _stage(document, DocumentStage.EMBEDDING, 30 + int(60 * done / max(total, 1)))

    vectors = embed_for_collection(
        collection=document.collection,
        texts=[embedding_input(title=document.title, heading_path=d.heading_path, text=d.text) for d in drafts],
        on_batch=progress,
    )
    _stage(document, DocumentStage.WRITING, 95)
    return _Prepared(document, drafts, vectors, page_count=extracted.page_count, diagnostics=diagnostics)


# What the write stage sets on a document it marks ready, in this order (the statement below is built from it).
_READY_FIELDS = (
    "status",
    "stage",
    "progress",
    "page_count",
    "chunk_count",
    "token_count",
    "diagnostics",
    "error_code",
    "error_message",
    "finished_at",
    "lease_expires_at",
    "updated_at",
)


@cache
def _mark_ready_sql() -> tuple[str, tuple[Any, ...]]:
    """The statement that marks a document ready if this claim still holds it, and the fields of its values (built
    once per process: the ORM built and compiled the same UPDATE for every document; ADR 0134)."""
    concrete = {field.name: field for field in Document._meta.concrete_fields}
    fields = tuple(concrete[name] for name in _READY_FIELDS)
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(concrete[name].column)

    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    return (
        f"UPDATE {quote(Document._meta.db_table)} SET {assignments}"
        f" WHERE {column('organization')} = %s AND {column('id')} = %s"
        f" AND {column('status')} = %s AND {column('lease_owner')} = %s",
        fields,
    )


def _mark_ready(document: Document, values: dict[str, Any]) -> bool:
    """Set `values` (every name of _READY_FIELDS) on the document's row if this claim still holds it."""
    sql, fields = _mark_ready_sql()
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    params += [document.organization_id, document.pk, DocumentStatus.PROCESSING.value, document.lease_owner]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.rowcount)


def _write_chunks(prepared: Sequence[_Prepared]) -> None:
    """The write stage of one or more prepared documents of one organization, in one transaction: each marked
    ready if this claim still holds it, and the chunks of those replaced with one COPY. The update is
    conditional on the claim and takes the document's row lock, so no other writer can add or remove its
    chunks until the commit; a document the claim lost is left out, the others are written."""
    now = timezone.now()
    organization_id = prepared[0].document.organization_id
    with transaction.atomic():
        held: list[tuple[_Prepared, dict[str, Any]]] = []
        for item in prepared:
            ready = {
                "status": DocumentStatus.READY,
                "stage": DocumentStage.DONE,
                "progress": 100,
                "page_count": item.page_count,
                "chunk_count": len(item.drafts),
                "token_count": sum(d.token_count for d in item.drafts),
                "diagnostics": item.diagnostics,
                "error_code": "",
                "error_message": "",
                "finished_at": now,
                "lease_expires_at": None,
            }
            if _mark_ready(item.document, {**ready, "updated_at": now}):
                held.append((item, ready))
            # else: reindexed, finished, or re-queued after this claim's lease lapsed: the other one wins
        if not held:
            return
        # Usually there is nothing to replace; a DELETE would still run the postings trigger's five statements.
        # The claim read the count under the row lock, and every path that writes or removes a document's
        # chunks sets it in the same transaction (a reindex and a failure zero it as they delete them), so
        # while this claim holds the document a count of zero means there are none: no query to find out.
        replaced = [item.document.pk for item, _ in held if item.document.chunk_count]
        if replaced:
            Chunk.objects.for_org(organization_id).filter(document_id__in=replaced).delete()
        rows: list[tuple[Any, ...]] = []
        for item, _ in held:
            rows.extend(
                chunk_rows(
                    organization_id=organization_id,
                    collection_id=item.document.collection_id,
                    document_id=item.document.pk,
                    drafts=item.drafts,
                    vectors=item.vectors,
                    now=now,
                )
            )
        chunks_copy(rows)
        for item, ready in held:
            document = item.document
            for field, value in ready.items():
                setattr(document, field, value)
            document.updated_at = now
            emit(
                EventType.DOCUMENT_READY,
                organization=document.organization_id,
                payload=document_event_payload(document),
            )


def document_mark_failed(*, organization_id: str, document_id: str, code: str, message: str, **extra: Any) -> None:
    """Record the final failure: `failed`, the code and message, the stage it happened in; no chunks."""
    with transaction.atomic():
        document = Document.objects.for_org(organization_id).select_for_update().filter(pk=document_id).first()
        if document is None:
            return
        Chunk.objects.for_org(organization_id).filter(document_id=document.pk).delete()
        document.diagnostics = {**(document.diagnostics or {}), "failed_stage": document.stage, **extra}
        document.status = DocumentStatus.FAILED
        document.error_code = code
        document.error_message = message
        document.chunk_count = 0
        document.finished_at = timezone.now()
        document.lease_expires_at = None
        document.save()
        emit(EventType.DOCUMENT_FAILED, organization=document.organization_id, payload=document_event_payload(document))


def document_index(*, organization_id: str, document_id: str, lease_owner: str = "") -> None:
    """Index one document under a lease held by `lease_owner` (the task's id; a fresh one when empty)."""
    documents_index(organization_id=organization_id, document_ids=[document_id], lease_owner=lease_owner)


def documents_index(*, organization_id: str, document_ids: Sequence[str], lease_owner: str = "") -> None:
    """Index documents of one organization under one lease owner (the task's id; a fresh one when empty):
    claimed together, prepared one after the other, written together (ADR 0128). Transient provider errors
    propagate once what was prepared before them is written (the task retries the rest with backoff); every
    other failure is recorded on its document, and the others carry on."""
    documents = _claim(
        organization_id=organization_id, document_ids=document_ids, lease_owner=lease_owner or uuid.uuid4().hex
    )
    if not documents:
        return
    claimed_at = time.monotonic()  # the claim just saved the rows
    for document in documents:
        _progress_saved[document.pk] = claimed_at
    current: Document | None = None
    finished: set[Any] = set()
    try:
        with _lease_kept(documents):
            prepared: list[_Prepared] = []
            for document in documents:
                current = document
                try:
                    prepared.append(_run(document))
                except (SoftTimeLimitExceeded, OperationalError, InterfaceError):
                    raise
                except Exception as exc:
                    if is_transient(exc):
                        current = None
                        _write_prepared(prepared, finished)  # kept; the task's retry claims only the rest
                        raise
                    _record_failure(document, exc)
                    finished.add(document.pk)
                if sum(len(item.drafts) for item in prepared) >= WRITE_BATCH_CHUNKS:
                    current = prepared[0].document if len(prepared) == 1 else None
                    _write_prepared(prepared, finished)
                    prepared = []
            current = prepared[0].document if len(prepared) == 1 else None
            _write_prepared(prepared, finished)
    except SoftTimeLimitExceeded:
        # The task's time is up: the document it was working on fails; the others go back in line.
        if current is not None:
            document_mark_failed(
                organization_id=organization_id,
                document_id=str(current.pk),
                code="indexing_timeout",
                message="Indexing took longer than the time limit; the document may be too large.",
                failed_stage=current.stage,
            )
            finished.add(current.pk)
        _release([document for document in documents if document.pk not in finished])
    except (OperationalError, InterfaceError):
        # The database went away (a restart, a failover): nothing is wrong with the documents. They keep their
        # lease, which lapses without the heartbeat, and the sweep puts them back in line once the database
        # answers (ADR 0090), instead of ending failed for someone to reindex by hand.
        logger.warning("Indexing document(s) %s stopped: the database is unavailable", list(document_ids))
        raise
    finally:
        for document in documents:
            _progress_saved.pop(document.pk, None)


def _write_prepared(prepared: list[_Prepared], finished: set[Any]) -> None:
    """Write the prepared documents together; when that fails, each on its own, so that the one whose write
    fails (its rows refused by the database) fails alone with its reason."""
    if not prepared:
        return
    try:
        _write_chunks(prepared)
    except (SoftTimeLimitExceeded, OperationalError, InterfaceError):
        raise
    except Exception as exc:
        if len(prepared) == 1:
            _record_failure(prepared[0].document, exc)
        else:
            logger.warning("Writing %d documents together failed; writing each on its own", len(prepared))
            for item in prepared:
                try:
                    _write_chunks([item])
                except (SoftTimeLimitExceeded, OperationalError, InterfaceError):
                    raise
                except Exception as alone:
                    _record_failure(item.document, alone)
    finished.update(item.document.pk for item in prepared)


def _record_failure(document: Document, exc: Exception) -> None:
    """Record a document's failure with its reason: the pipeline's own errors and other domain errors by
    their code, anything else as an internal error (logged)."""
    organization_id, document_id = str(document.organization_id), str(document.pk)
    if isinstance(exc, PipelineError):
        document_mark_failed(
            organization_id=organization_id,
            document_id=document_id,
            code=exc.code,
            message=exc.message,
            error_details=exc.details,
            failed_stage=document.stage,
        )
        return
    if getattr(exc, "status_code", None) and hasattr(exc, "code"):  # another DomainError (e.g. dimensions)
        document_mark_failed(
            organization_id=organization_id,
            document_id=document_id,
            code=str(exc.code),
            message=str(getattr(exc, "message", exc)),
            failed_stage=document.stage,
        )
        return
    logger.error("Indexing document %s failed unexpectedly", document_id, exc_info=exc)
    document_mark_failed(
        organization_id=organization_id,
        document_id=document_id,
        code="internal_error",
        message=f"An unexpected error stopped indexing ({type(exc).__name__}); it has been logged.",
        failed_stage=document.stage,
    )


def _release(documents: Sequence[Document]) -> None:
    """Put claimed documents this task did not get to back in line, as if never claimed (the dispatcher sends
    them again)."""
    if not documents:
        return
    first = documents[0]
    Document.objects.for_org(first.organization_id).filter(
        pk__in=[document.pk for document in documents],
        status=DocumentStatus.PROCESSING,
        lease_owner=first.lease_owner,
    ).update(
        status=DocumentStatus.QUEUED,
        stage=DocumentStage.QUEUED,
        attempts=F("attempts") - 1,
        dispatched_at=None,
        lease_expires_at=None,
        updated_at=timezone.now(),
    )


def documents_mark_failed_if_held(
    *, organization_id: str, document_ids: Sequence[str], lease_owner: str, code: str, message: str
) -> None:
    """Record the final failure of the documents `lease_owner` still holds (a task that gives up: the others
    of its documents are ready, failed already, or another claim's)."""
    held = Document.objects.for_org(organization_id).filter(
        pk__in=list(document_ids), status=DocumentStatus.PROCESSING, lease_owner=lease_owner
    )
    for document_id in held.values_list("pk", flat=True):
        document_mark_failed(organization_id=organization_id, document_id=str(document_id), code=code, message=message)


def documents_requeue_stuck(*, now: Any = None) -> int:
    """Put back in line the documents whose worker is gone: processing with a lapsed lease (or, rows without
    one, idle past DOCUMENTS_PROCESSING_STUCK_SECONDS), or sent to the broker and never taken (a lost message);
    give up on those that have used every attempt. Documents waiting for their turn are not stuck. Returns how
    many were re-queued; the dispatcher sends them (oldest first in their organization's line)."""
    now = now or timezone.now()
    queued_before = now - timedelta(seconds=int(settings.DOCUMENTS_QUEUED_STUCK_SECONDS))
    processing_before = now - timedelta(seconds=int(settings.DOCUMENTS_PROCESSING_STUCK_SECONDS))
    processing = Q(status=DocumentStatus.PROCESSING)
    stuck = Document.objects.unscoped().filter(
        Q(status=DocumentStatus.QUEUED, dispatched_at__isnull=False, updated_at__lt=queued_before)
        | (processing & Q(lease_expires_at__lt=now))
        | (processing & Q(lease_expires_at__isnull=True, updated_at__lt=processing_before))
    )
    requeued = 0
    for document_id, organization_id in stuck.order_by().values_list("pk", "organization_id")[:1000]:
        with transaction.atomic():
            document = (
                Document.objects.for_org(organization_id)
                .select_for_update(skip_locked=True)
                .filter(pk=document_id, status__in=[DocumentStatus.QUEUED, DocumentStatus.PROCESSING])
                .first()
            )
            if document is None:
                continue
            if document.attempts >= int(settings.DOCUMENTS_MAX_ATTEMPTS):
                abandoned = IndexingAbandoned()
                document_mark_failed(
                    organization_id=str(organization_id),
                    document_id=str(document_id),
                    code=abandoned.code,
                    message=f"{abandoned.message} (stopped {document.attempts} times, last in stage {document.stage})",
                )
                continue
            logger.warning(
                "Re-queueing document %s (%s, stage %s, attempt %d, lease until %s)",
                document_id,
                document.status,
                document.stage,
                document.attempts,
                document.lease_expires_at,
            )
            document.status = DocumentStatus.QUEUED
            document.stage = DocumentStage.QUEUED
            document.dispatched_at = None
            document.lease_expires_at = None
            document.save(update_fields=["status", "stage", "dispatched_at", "lease_expires_at", "updated_at"])
            requeued += 1
    if requeued:
        logger.warning("Re-queued %d stuck document(s)", requeued)
        transaction.on_commit(documents_dispatch)
    return requeued
