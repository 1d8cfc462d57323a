"""Celery tasks of the documents app (thin: ids in, one service call)."""

from __future__ import annotations

import time

from celery import Task, shared_task
from django.conf import settings

from apps.documents.services import pipeline
from apps.documents.services.embed import is_transient
from apps.documents.services.queue import INDEX_TASK, SWEEP_TASK, documents_dispatch, documents_dispatch_if_waiting


@shared_task(
    bind=True,
    name=INDEX_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=5,
)
def document_index_task(
    self: Task, *, organization_id: str, document_id: str = "", document_ids: list[str] | None = None
) -> None:
    # One document (`document_id`) or several of one organization sent together (`document_ids`, ADR 0128).
    # The task id names the claim: a retry or a redelivery of this message may take the documents back, a
    # second message for one of them may not while this one's lease is alive.
    ids = list(document_ids or [document_id])
    lease_owner = str(self.request.id or "")
    try:
        pipeline.documents_index(organization_id=organization_id, document_ids=ids, lease_owner=lease_owner)
    except Exception as exc:
        if not is_transient(exc):
            raise
        retries = self.request.retries
        if retries >= (self.max_retries or 0):
            pipeline.documents_mark_failed_if_held(
                organization_id=organization_id,
                document_ids=ids,
                lease_owner=lease_owner,
                code="provider_unavailable",
                message=f"The embedding provider kept failing ({type(exc).__name__}: {exc}); reindex to try again.",
            )
            return
        countdown = float(settings.DOCUMENTS_RETRY_BACKOFF_SECONDS) * (2**retries)
        pipeline.document_lease_hold(
            organization_id=organization_id,
            document_ids=ids,
            lease_owner=lease_owner,
            seconds=countdown + float(settings.DOCUMENTS_LEASE_SECONDS),
        )
        if self.request.is_eager:
            # Eager execution (tests, scripts) has no broker to come back through: retry in place.
            time.sleep(countdown)
            kwargs = {"organization_id": organization_id, "document_id": document_id, "document_ids": document_ids}
            self.apply(kwargs=kwargs, task_id=self.request.id, retries=retries + 1, throw=True)
            return
        raise self.retry(exc=exc, countdown=countdown) from exc
    finally:
        # Slots are free (or these documents are done): send the next ones in line.
        documents_dispatch_if_waiting()


@shared_task(name=SWEEP_TASK, ignore_result=True)
def documents_requeue_stuck_task() -> None:
    pipeline.documents_requeue_stuck()
    documents_dispatch()
