"""Reads of the webhooks app (organization-scoped)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from apps.organizations.models import Organization
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint
from common.core.errors import NotFound


def webhook_endpoint_list(*, organization: Organization) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.for_org(organization)


def webhook_endpoint_get(*, organization: Organization, endpoint_id: Any) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_org(organization).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


def webhook_delivery_list(*, organization: Organization, endpoint_id: Any) -> QuerySet[WebhookDelivery]:
    endpoint = webhook_endpoint_get(organization=organization, endpoint_id=endpoint_id)
    return WebhookDelivery.objects.for_org(organization).filter(endpoint=endpoint)


def webhook_delivery_get(*, organization: Organization, endpoint_id: Any, delivery_id: UUID) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.for_org(organization).filter(endpoint_id=endpoint_id, pk=delivery_id).first()
    if delivery is None:
        raise NotFound("Webhook delivery not found.")
    return delivery


def webhook_pending_counts(*, organization: Organization) -> dict[Any, int]:
    """Pending deliveries per endpoint of the organization."""
    from django.db.models import Count

    rows = (
        WebhookDelivery.objects.for_org(organization)
        .filter(status="pending")
        .values("endpoint_id")
        .annotate(n=Count("id"))
    )
    return {row["endpoint_id"]: row["n"] for row in rows}
