"""Enqueueing the indexing task by its registered name, after commit (services never import tasks.py,
which imports services)."""

from __future__ import annotations

from celery import current_app
from django.db import transaction

INDEX_TASK = "documents.index"
SWEEP_TASK = "documents.requeue_stuck"


def enqueue_index(*, organization_id: str, document_id: str) -> None:
    """Queue indexing of one document once the current transaction commits."""
    transaction.on_commit(
        lambda: current_app.signature(
            INDEX_TASK, kwargs={"organization_id": organization_id, "document_id": document_id}
        ).delay()
    )
