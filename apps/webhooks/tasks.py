"""Celery tasks of the webhooks app (thin: ids in, one service call)."""

from __future__ import annotations

from celery import shared_task

from apps.webhooks import queue, services


@shared_task(name=queue.DRAIN_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def webhook_drain_task(*, organization_id: str, endpoint_id: str) -> None:
    """Send an endpoint's due deliveries in order; come back when the next retry is due."""
    wait = services.webhook_endpoint_drain(organization_id=organization_id, endpoint_id=endpoint_id)
    if wait is not None:
        queue.drain_now(organization_id=organization_id, endpoint_id=endpoint_id, countdown=wait)


@shared_task(name=queue.SWEEP_TASK, ignore_result=True)
def webhook_sweep_task() -> None:
    services.webhook_deliveries_sweep()


@shared_task(name=queue.PURGE_TASK, ignore_result=True)
def webhook_purge_task() -> None:
    services.webhook_deliveries_purge()
