"""What the webhooks app does when the rest of Docent says something happened: record the deliveries.

The handler runs after the event's transaction committed, in that process. It writes one pending delivery
per interested endpoint (a quick insert, and only when the organization has such an endpoint) and queues
the sending for a worker: no HTTP call ever happens here (ADR 0050)."""

from __future__ import annotations

from apps.webhooks import services
from common.events import DomainEvent, EventType, subscribe


def record(event: DomainEvent) -> None:
    services.webhook_event_record(event=event)


def connect() -> None:
    for event_type in EventType.values:
        subscribe(event_type, record)
