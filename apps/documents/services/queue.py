"""The indexing queue: documents wait in the database and a fair dispatcher sends their tasks (ADR 0012).

At most `DOCUMENTS_DISPATCH_MAX_IN_FLIGHT` indexing tasks are sent or running at once; free slots go to the
organization with the fewest in flight first, oldest document first within it, so one organization's
backlog never delays another's document by more than the work already in flight. The database decides,
so it behaves the same on the filesystem broker and on Redis. Tasks are sent by their registered name
(services never import tasks.py, which imports services).
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections import defaultdict, deque
from datetime import datetime
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone
from kombu.exceptions import KombuError

from apps.documents.models import Document, DocumentStatus
from common.core.statements import Statement

logger = logging.getLogger(__name__)

INDEX_TASK = "documents.index"
SWEEP_TASK = "documents.requeue_stuck"

# One dispatcher at a time across every process (a transaction-scoped PostgreSQL advisory lock).
_DISPATCH_LOCK = 0x646F63_0001
# Sent (the message is in the broker) or running: what occupies a slot.
IN_FLIGHT = Q(status=DocumentStatus.PROCESSING) | Q(status=DocumentStatus.QUEUED, dispatched_at__isnull=False)
WAITING = Q(status=DocumentStatus.QUEUED, dispatched_at__isnull=True)

_local = threading.local()

# The dispatcher's reads, compiled once per process (ADR 0134): the ORM built and compiled them on every upload and
# after every indexing task, several times what running them costs.
_WAITING_ANY = Statement(lambda: Document.objects.unscoped().filter(WAITING).values_list("pk")[:1])
_IN_FLIGHT_BY_ORGANIZATION = Statement(
    lambda: (
        Document.objects.unscoped()
        .filter(IN_FLIGHT)
        .order_by()
        .values("organization_id")
        .annotate(n=Count("pk"))
        .values_list("organization_id", "n")
    )
)


def _waiting_in_line(depth: int | None = None) -> Any:
    """Each waiting document with its organization, since when it waits and its place in its organization's line;
    with `depth`, only the first `depth` of each line."""
    waiting = (
        Document.objects.unscoped()
        .filter(WAITING)
        .annotate(since=Coalesce(F("queued_at"), F("created_at")))
        .annotate(rank=Window(RowNumber(), partition_by=[F("organization_id")], order_by=[F("since").asc(), F("pk")]))
        .order_by()
    )
    if depth is not None:
        waiting = waiting.filter(rank__lte=depth)
    return waiting.values_list("pk", "organization_id", "since", "rank")


_WAITING_IN_LINE = Statement(_waiting_in_line)
# Any sample depth will do: it is the statement's one integer parameter, replaced on every run.
_WAITING_IN_LINE_TO_DEPTH = Statement(_waiting_in_line, depth=987_654_321)


def enqueue_index(*, organization_id: str, document_id: str, new: bool = False) -> None:
    """Put the document in line for indexing; the dispatcher sends its task once the transaction commits. A
    document created in this transaction (`new`) is already in line: it was never dispatched."""
    if not new:
        Document.objects.for_org(organization_id).filter(pk=document_id).update(dispatched_at=None)
    dispatch_on_commit()


def dispatch_on_commit() -> None:
    """Dispatch once the current transaction commits: once per transaction, however many documents it queued
    (one dispatch sends them all). A dispatch already registered counts only if it cannot be rolled back
    without this call being rolled back too (its savepoints all enclose this one)."""
    active = set(connection.savepoint_ids)
    registered = (entry[0] for entry in connection.run_on_commit if entry[1] is documents_dispatch)
    if not any(savepoints <= active for savepoints in registered):
        transaction.on_commit(documents_dispatch)


def documents_dispatch_if_waiting() -> int:
    """documents_dispatch() when a document is waiting for a slot. After each indexing task: usually none is,
    and then this is one index-only query instead of a locked transaction. A document queued after the query
    is dispatched by whoever queued it, after their commit."""
    if not _WAITING_ANY.rows():
        return 0
    return documents_dispatch()


def documents_dispatch() -> int:
    """Send the tasks of the next waiting documents into the free slots; returns how many were sent.

    Called after documents are queued, after each indexing task and by the periodic sweep. A call made while
    this thread is already dispatching (a task executed eagerly finishing inside the send) is folded into the
    running one, which then looks again. Otherwise one pass suffices: whatever frees a slot or queues a
    document after it dispatches again itself.
    """
    if getattr(_local, "active", False):
        _local.again = True
        return 0
    _local.active = True
    sent = 0
    try:
        while True:
            _local.again = False
            sent += _dispatch_once()
            if not _local.again:
                return sent
    finally:
        _local.active = False


def _dispatch_once() -> int:
    limit = int(settings.DOCUMENTS_DISPATCH_MAX_IN_FLIGHT)
    per_organization = int(settings.DOCUMENTS_DISPATCH_MAX_PER_ORGANIZATION)
    chosen: list[tuple[str, str]] = []
    # A dispatch of its own does not wait for the disk at commit: one lost in a crash leaves its documents
    # waiting (dispatched again) or, when the message went out, claimed by the worker all the same (ADR 0107).
    # Inside a caller's transaction, the caller's commit stays as it is.
    lock = "SELECT pg_advisory_xact_lock(%s)"
    if not connection.in_atomic_block:
        lock += ", set_config('synchronous_commit', 'off', true)"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(lock, [_DISPATCH_LOCK])
        in_flight: dict[Any, int] = dict(_IN_FLIGHT_BY_ORGANIZATION.rows())  # type: ignore[arg-type]
        free = limit - sum(in_flight.values()) if limit else None
        if free is not None and free <= 0:
            return 0
        depth = min(x for x in (free, per_organization) if x) if (free or per_organization) else None
        waiting = _WAITING_IN_LINE_TO_DEPTH.rows(depth=depth) if depth else _WAITING_IN_LINE.rows()
        lines: dict[Any, deque[tuple[Any, datetime]]] = defaultdict(deque)
        for pk, organization_id, since, _rank in sorted(waiting, key=lambda row: (row[3], row[2])):
            lines[organization_id].append((pk, since))
        # Max-min fair fill: the organization with the fewest in flight takes the next slot (ties: the one
        # whose next document has waited longest).
        heap = [
            (in_flight.get(organization_id, 0), line[0][1], str(organization_id), organization_id)
            for organization_id, line in lines.items()
            if not per_organization or in_flight.get(organization_id, 0) < per_organization
        ]
        heapq.heapify(heap)
        while heap and (free is None or len(chosen) < free):
            n, _since, key, organization_id = heapq.heappop(heap)
            line = lines[organization_id]
            pk, _ = line.popleft()
            chosen.append((str(organization_id), str(pk)))
            if line and (not per_organization or n + 1 < per_organization):
                heapq.heappush(heap, (n + 1, line[0][1], key, organization_id))
        if not chosen:
            return 0
        now = timezone.now()
        Document.objects.unscoped().filter(WAITING, pk__in=[pk for _, pk in chosen]).update(
            dispatched_at=now, updated_at=now
        )
        batches = _batches(chosen, size=int(settings.DOCUMENTS_INDEX_BATCH_SIZE))
        transaction.on_commit(lambda: _send(batches))
    return len(chosen)


def _batches(chosen: list[tuple[str, str]], *, size: int) -> list[tuple[str, list[str]]]:
    """The chosen documents as tasks: an organization's documents of this pass together, at most `size` a task
    (ADR 0128). The slots stay counted a document each (IN_FLIGHT counts documents, not tasks), so grouping
    changes how the work travels, not who gets the slots; the tasks keep the order of each organization's
    first document in the fair fill."""
    tasks: list[tuple[str, list[str]]] = []
    open_task: dict[str, list[str]] = {}
    for organization_id, document_id in chosen:
        documents = open_task.get(organization_id)
        if documents is None or len(documents) >= max(size, 1):
            documents = open_task[organization_id] = []
            tasks.append((organization_id, documents))
        documents.append(document_id)
    return tasks


def _send(batches: list[tuple[str, list[str]]]) -> None:
    for index, (organization_id, document_ids) in enumerate(batches):
        # One document: the message as it always was (and as messages already in a broker are).
        kwargs: dict[str, Any] = {"organization_id": organization_id}
        if len(document_ids) == 1:
            kwargs["document_id"] = document_ids[0]
        else:
            kwargs["document_ids"] = document_ids
        try:
            current_app.signature(INDEX_TASK, kwargs=kwargs).delay()
        except (KombuError, OSError):
            # The broker refused: put the unsent documents back in line for the next dispatch.
            unsent = [pk for _, ids in batches[index:] for pk in ids]
            logger.exception("Could not send indexing tasks; %d document(s) go back to waiting", len(unsent))
            Document.objects.unscoped().filter(pk__in=unsent, status=DocumentStatus.QUEUED).update(dispatched_at=None)
            return
