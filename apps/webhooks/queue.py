"""Enqueueing the webhook tasks by their registered names (services never import tasks.py, which imports
services)."""

from __future__ import annotations

from celery import current_app
from django.db import transaction

DRAIN_TASK = "webhooks.drain"
SWEEP_TASK = "webhooks.sweep"
PURGE_TASK = "webhooks.purge"


def drain_now(*, organization_id: str, endpoint_id: str, countdown: float = 0.0) -> None:
    """Queue sending an endpoint's due deliveries (after `countdown` seconds)."""
    if countdown > 0 and current_app.conf.task_always_eager:
        # Eager execution (tests, scripts) would run it at once, before it is due: the sweep picks it up.
        return
    signature = current_app.signature(
        DRAIN_TASK, kwargs={"organization_id": organization_id, "endpoint_id": endpoint_id}
    )
    if countdown > 0:
        signature.apply_async(countdown=countdown)
    else:
        signature.delay()


def drain_on_commit(*, organization_id: str, endpoint_id: str) -> None:
    """Queue sending an endpoint's due deliveries once the current transaction commits."""
    transaction.on_commit(lambda: drain_now(organization_id=organization_id, endpoint_id=endpoint_id))
