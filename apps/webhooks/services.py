"""Writes of the webhooks app: manage endpoints, record one delivery per event per endpoint, send them in
order with retries, and disable an endpoint that keeps failing. See docs/webhooks.md and ADR 0050."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.organizations.actors import Actor
from apps.organizations.audit import AuditAction, audit_record
from apps.organizations.models import Membership, Organization, Role
from apps.users.emails import email_send_on_commit, site_link
from apps.webhooks import interest, queue, signing, transport
from apps.webhooks.models import DeliveryStatus, DisabledReason, WebhookDelivery, WebhookEndpoint
from apps.webhooks.url_safety import url_resolve_checked
from common.core.errors import Conflict, NotFound, ValidationFailed
from common.events import DomainEvent, EventType

TEST_EVENT_TYPE = "webhook.test"
MAX_DESCRIPTION = 200
MAX_KEPT_ATTEMPTS = 50
DELIVERIES_PER_DRAIN = 20  # then the task re-queues itself, so one busy endpoint does not hold a worker


@dataclass(frozen=True)
class IssuedSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once


# ---------------------------------------------------------------------------------------------- endpoints


def _clean_event_types(event_types: list[str]) -> list[str]:
    wanted = sorted(set(event_types))
    if not wanted:
        raise ValidationFailed("Choose at least one event.", details={"event_types": ["Choose at least one event."]})
    unknown = [t for t in wanted if t not in EventType.values]
    if unknown:
        raise ValidationFailed(
            f"Unknown event type: {', '.join(unknown)}.",
            details={"event_types": [f"Unknown event type: {t}" for t in unknown]},
        )
    return wanted


def _check_url(url: str) -> str:
    url = url.strip()
    url_resolve_checked(url)  # WebhookURLInvalid / WebhookURLBlocked: 400 with the reason
    return url


def _get_for_update(*, organization: Organization, endpoint_id: Any) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.for_org(organization).select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


@transaction.atomic
def webhook_endpoint_create(
    *,
    organization: Organization,
    actor: Actor,
    url: str,
    event_types: list[str],
    description: str = "",
    enabled: bool = True,
) -> IssuedSecret:
    event_types = _clean_event_types(event_types)
    count = WebhookEndpoint.objects.for_org(organization).count()
    if count >= settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION:
        raise Conflict(
            f"An organization can have at most {settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints."
        )
    url = _check_url(url)
    secret = signing.secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=url,
        description=description[:MAX_DESCRIPTION],
        event_types=event_types,
        secret=secret,
        enabled=enabled,
        disabled_reason="" if enabled else DisabledReason.MANUAL,
        disabled_at=None if enabled else timezone.now(),
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_CREATED,
        target=endpoint,
        data={"url": endpoint.url, "event_types": event_types},
    )
    return IssuedSecret(endpoint=endpoint, secret=secret)


@transaction.atomic
def webhook_endpoint_update(
    *, organization: Organization, actor: Actor, endpoint_id: Any, **changes: Any
) -> WebhookEndpoint:
    unknown = set(changes) - {"url", "event_types", "description", "enabled"}
    if unknown:
        raise ValidationFailed(details={f: ["This field cannot be changed."] for f in sorted(unknown)})
    endpoint = _get_for_update(organization=organization, endpoint_id=endpoint_id)
    fields: list[str] = []
    if "event_types" in changes:
        endpoint.event_types = _clean_event_types(changes["event_types"])
        fields.append("event_types")
    if "url" in changes:
        endpoint.url = _check_url(changes["url"])
        fields.append("url")
    if "description" in changes:
        endpoint.description = str(changes["description"])[:MAX_DESCRIPTION]
        fields.append("description")
    if "enabled" in changes and bool(changes["enabled"]) != endpoint.enabled:
        if changes["enabled"]:
            _enable(endpoint)
        else:
            endpoint.enabled = False
            endpoint.disabled_reason = DisabledReason.MANUAL
            endpoint.disabled_at = timezone.now()
        fields += ["enabled", "disabled_reason", "disabled_at", "consecutive_failures", "failing_since"]
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.WEBHOOK_UPDATED,
            target=endpoint,
            data={"url": endpoint.url, "fields": sorted(set(fields) & set(changes))},
        )
    if endpoint.enabled:
        queue.drain_on_commit(organization_id=str(organization.pk), endpoint_id=str(endpoint.pk))
    return endpoint


def _enable(endpoint: WebhookEndpoint) -> None:
    """Enable again: a fresh start for the failure counters; what waited while disabled is due now."""
    endpoint.enabled = True
    endpoint.disabled_reason = DisabledReason.NONE
    endpoint.disabled_at = None
    endpoint.consecutive_failures = 0
    endpoint.failing_since = None
    WebhookDelivery.objects.for_org(endpoint.organization_id).filter(
        endpoint=endpoint, status=DeliveryStatus.PENDING
    ).update(next_attempt_at=timezone.now())


@transaction.atomic
def webhook_endpoint_delete(*, organization: Organization, actor: Actor, endpoint_id: Any) -> None:
    endpoint = _get_for_update(organization=organization, endpoint_id=endpoint_id)
    audit_record(actor=actor, action=AuditAction.WEBHOOK_DELETED, target=endpoint, data={"url": endpoint.url})
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_rotate_secret(*, organization: Organization, actor: Actor, endpoint_id: Any) -> IssuedSecret:
    """A new signing secret (shown once). The old one keeps signing beside it for the grace period, so a
    receiver can switch without rejecting deliveries."""
    endpoint = _get_for_update(organization=organization, endpoint_id=endpoint_id)
    secret = signing.secret_generate()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(
        hours=float(settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS)
    )
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    audit_record(actor=actor, action=AuditAction.WEBHOOK_SECRET_ROTATED, target=endpoint, data={"url": endpoint.url})
    return IssuedSecret(endpoint=endpoint, secret=secret)


# ---------------------------------------------------------------------------------------------- deliveries


def _body(*, event_type: str, occurred_at: str, organization_id: str, sequence: int, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "type": event_type,
            "timestamp": occurred_at,
            "organization_id": organization_id,
            "sequence": sequence,
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def _add_delivery(
    endpoint: WebhookEndpoint, *, event_id: str, event_type: str, occurred_at: str, data: dict[str, Any]
) -> WebhookDelivery:
    """A pending delivery with the endpoint's next sequence number (the caller holds the endpoint's row lock)."""
    sequence = endpoint.next_sequence
    endpoint.next_sequence = sequence + 1
    endpoint.save(update_fields=["next_sequence"])
    return WebhookDelivery.objects.create(
        organization_id=endpoint.organization_id,
        endpoint=endpoint,
        sequence=sequence,
        event_id=event_id,
        event_type=event_type,
        body=_body(
            event_type=event_type,
            occurred_at=occurred_at,
            organization_id=str(endpoint.organization_id),
            sequence=sequence,
            data=data,
        ),
        next_attempt_at=timezone.now(),
    )


def webhook_event_record(*, event: DomainEvent) -> list[WebhookDelivery]:
    """One pending delivery of `event` for each enabled endpoint of its organization that wants it.

    Called by the event subscriber in the process that committed the event, so deliveries are numbered in
    the order the events happened; the sending happens in workers (queued after this commits)."""
    if event.type not in interest.wanted_event_types(event.organization_id):
        return []
    wanted = WebhookEndpoint.objects.for_org(event.organization_id).filter(
        enabled=True, event_types__contains=[event.type]
    )
    deliveries = []
    with transaction.atomic():
        for endpoint in wanted.select_for_update().order_by("pk"):
            if endpoint.deliveries.filter(event_id=event.id).exists():
                continue  # the same event heard twice
            deliveries.append(
                _add_delivery(
                    endpoint,
                    event_id=event.id,
                    event_type=event.type,
                    occurred_at=event.occurred_at.isoformat(),
                    data=event.payload,
                )
            )
            queue.drain_on_commit(organization_id=event.organization_id, endpoint_id=str(endpoint.pk))
    return deliveries


@transaction.atomic
def webhook_endpoint_send_test(*, organization: Organization, actor: Actor, endpoint_id: Any) -> WebhookDelivery:
    """Queue a `webhook.test` event for this endpoint (in order behind what is already pending)."""
    endpoint = _get_for_update(organization=organization, endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled: enable it to send a test event.")
    delivery = _add_delivery(
        endpoint,
        event_id=uuid.uuid4().hex,
        event_type=TEST_EVENT_TYPE,
        occurred_at=timezone.now().isoformat(),
        data={"message": "A test event from Docent.", "endpoint_id": str(endpoint.pk)},
    )
    audit_record(actor=actor, action=AuditAction.WEBHOOK_TESTED, target=endpoint, data={"url": endpoint.url})
    queue.drain_on_commit(organization_id=str(organization.pk), endpoint_id=str(endpoint.pk))
    return delivery


@transaction.atomic
def webhook_delivery_redeliver(
    *, organization: Organization, actor: Actor, endpoint_id: Any, delivery_id: Any
) -> WebhookDelivery:
    """Send a delivery again: the same message id and body, a fresh set of attempts. It keeps its sequence
    number, so it goes before any newer delivery of the endpoint that is still pending."""
    endpoint = _get_for_update(organization=organization, endpoint_id=endpoint_id)
    delivery = (
        WebhookDelivery.objects.for_org(organization)
        .select_for_update()
        .filter(endpoint=endpoint, pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise NotFound("Webhook delivery not found.")
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled: enable it to send deliveries again.")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempt_count = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempt_count", "next_attempt_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.WEBHOOK_REDELIVERED,
        target=endpoint,
        data={"url": endpoint.url, "delivery_id": str(delivery.pk), "event_type": delivery.event_type},
    )
    queue.drain_on_commit(organization_id=str(organization.pk), endpoint_id=str(endpoint.pk))
    return delivery


# ---------------------------------------------------------------------------------------------- sending


def max_attempts() -> int:
    return len(settings.WEBHOOK_RETRY_DELAYS_SECONDS) + 1


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based), jittered."""
    delays = settings.WEBHOOK_RETRY_DELAYS_SECONDS
    base = float(delays[min(attempt, len(delays)) - 1])
    jitter = float(settings.WEBHOOK_RETRY_JITTER)
    return max(0.0, base * (1 + random.uniform(-jitter, jitter)))  # not a secret: spreads retries


def _lease_seconds() -> float:
    return float(settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS) + 2 * float(settings.WEBHOOK_TIMEOUT_SECONDS) + 30


def _endpoints(organization_id: Any, endpoint_id: Any) -> Any:
    return WebhookEndpoint.objects.for_org(organization_id).filter(pk=endpoint_id)


def _lease_take(organization_id: Any, endpoint_id: Any, token: uuid.UUID) -> bool:
    now = timezone.now()
    return bool(
        _endpoints(organization_id, endpoint_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_token=token))
        .update(lease_token=token, lease_until=now + timedelta(seconds=_lease_seconds()))
    )


def _lease_release(organization_id: Any, endpoint_id: Any, token: uuid.UUID) -> None:
    _endpoints(organization_id, endpoint_id).filter(lease_token=token).update(lease_token=None, lease_until=None)


def _pending(organization_id: Any, endpoint_id: Any) -> Any:
    return WebhookDelivery.objects.for_org(organization_id).filter(
        endpoint_id=endpoint_id, status=DeliveryStatus.PENDING
    )


def _secrets_in_use(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


def webhook_endpoint_drain(*, organization_id: Any, endpoint_id: Any) -> float | None:
    """Send an endpoint's pending deliveries, oldest sequence first, one at a time.

    A delivery waits while an older one of the same endpoint is pending (retrying): that is how deliveries
    are attempted in event order (ADR 0050). Returns None when nothing is left to do now or later (or another
    worker holds the endpoint), else the seconds until the drain should run again: 0 when it stopped after
    DELIVERIES_PER_DRAIN, the wait until the next attempt of the delivery whose attempt it just saw fail.
    """
    token = uuid.uuid4()
    sent = 0
    while True:
        if not _lease_take(organization_id, endpoint_id, token):
            return None  # another worker is sending this endpoint's deliveries; it looks again when done
        try:
            while True:
                endpoint = _endpoints(organization_id, endpoint_id).first()
                if endpoint is None or not endpoint.enabled:
                    return None
                head = _pending(organization_id, endpoint_id).order_by("sequence").first()
                if head is None:
                    break
                now = timezone.now()
                if head.next_attempt_at is not None and head.next_attempt_at > now:
                    # Only the run whose attempt failed sets a timer: one per retry, however many events
                    # arrive meanwhile (and the sweep stands in for a lost one).
                    return (head.next_attempt_at - now).total_seconds() if sent else None
                if sent >= DELIVERIES_PER_DRAIN:
                    return 0.0
                if not _lease_take(organization_id, endpoint_id, token):  # renew for this attempt
                    return None  # the lease ran out and another worker took the endpoint over
                _attempt(endpoint, head, now)
                sent += 1
        finally:
            _lease_release(organization_id, endpoint_id, token)
        # A delivery recorded while this worker held the lease found it taken and left: look once more.
        if not _pending(organization_id, endpoint_id).filter(next_attempt_at__lte=timezone.now()).exists():
            return None


def _attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> None:
    timestamp = int(now.timestamp())
    headers = signing.signed_headers(
        secrets_in_use=_secrets_in_use(endpoint, now),
        message_id=delivery.message_id,
        timestamp=timestamp,
        body=delivery.body,
    )
    outcome = transport.post(url=endpoint.url, headers=headers, body=delivery.body)
    _attempt_record(
        endpoint_id=endpoint.pk,
        organization_id=endpoint.organization_id,
        delivery_id=delivery.pk,
        at=now,
        outcome=outcome,
    )


@transaction.atomic
def _attempt_record(
    *, organization_id: Any, endpoint_id: Any, delivery_id: Any, at: datetime, outcome: transport.Outcome
) -> None:
    endpoint = _endpoints(organization_id, endpoint_id).select_for_update().first()
    delivery = WebhookDelivery.objects.for_org(organization_id).select_for_update().filter(pk=delivery_id).first()
    if endpoint is None or delivery is None:
        return  # deleted meanwhile
    now = timezone.now()
    delivery.attempt_count += 1
    delivery.attempts = [
        *delivery.attempts,
        {
            "at": at.isoformat(),
            "status_code": outcome.status_code,
            "latency_ms": outcome.latency_ms,
            "response_body": outcome.response_body,
            "error": outcome.error,
            "succeeded": outcome.succeeded,
        },
    ][-MAX_KEPT_ATTEMPTS:]
    delivery.last_attempt_at = at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:500]
    if outcome.succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        endpoint.last_success_at = now
    else:
        endpoint.last_failure_at = now
        endpoint.failing_since = endpoint.failing_since or at
        if delivery.attempt_count >= max_attempts():
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            endpoint.consecutive_failures += 1
        else:
            delivery.next_attempt_at = now + timedelta(seconds=retry_delay(delivery.attempt_count))
    delivery.save()
    endpoint.save(
        update_fields=["consecutive_failures", "failing_since", "last_success_at", "last_failure_at", "updated_at"]
    )
    if not outcome.succeeded and _keeps_failing(endpoint, now):
        _disable_failing(endpoint, now)


def _keeps_failing(endpoint: WebhookEndpoint, now: datetime) -> bool:
    if endpoint.consecutive_failures >= int(settings.WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES):
        return True
    hours = float(settings.WEBHOOK_DISABLE_AFTER_FAILING_HOURS)
    return endpoint.failing_since is not None and now - endpoint.failing_since >= timedelta(hours=hours)


def _disable_failing(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Disable an endpoint that keeps failing and tell its organization's owners and admins by email."""
    endpoint.enabled = False
    endpoint.disabled_reason = DisabledReason.FAILING
    endpoint.disabled_at = now
    endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at", "updated_at"])
    organization = Organization.objects.get(pk=endpoint.organization_id)
    since = endpoint.failing_since or now
    audit_record(
        actor=Actor.system(organization=organization, label="webhooks"),
        action=AuditAction.WEBHOOK_DISABLED,
        target=endpoint,
        data={
            "url": endpoint.url,
            "consecutive_failures": endpoint.consecutive_failures,
            "failing_since": since.isoformat(),
        },
    )
    recipients = (
        Membership.objects.for_org(organization)
        .filter(role__in=[Role.OWNER, Role.ADMIN], user__is_active=True)
        .select_related("user")
        .order_by("created_at")
    )
    for membership in recipients:
        email_send_on_commit(
            to=membership.user.email,
            subject=f"Docent: webhook endpoint disabled in {organization.name}",
            template="webhook_disabled",
            context={
                "organization": organization,
                "endpoint": endpoint,
                "failing_since": since,
                "failures": endpoint.consecutive_failures,
                "last_error": endpoint.deliveries.exclude(last_attempt_at=None)
                .order_by("-last_attempt_at")
                .values_list("last_error", flat=True)
                .first()
                or "",
                "link": site_link("/webhooks/"),
            },
        )


def webhook_deliveries_sweep() -> int:
    """Queue a drain for every enabled endpoint with a due delivery and no live lease (a retry whose time has
    come, or a queue message that was lost). Returns how many were queued."""
    now = timezone.now()
    due = (
        WebhookDelivery.objects.unscoped()
        .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
        .filter(Q(endpoint__lease_until__isnull=True) | Q(endpoint__lease_until__lt=now))
        .values_list("organization_id", "endpoint_id")
        .distinct()
    )
    queued = 0
    for organization_id, endpoint_id in due:
        queue.drain_now(organization_id=str(organization_id), endpoint_id=str(endpoint_id))
        queued += 1
    return queued


def webhook_deliveries_purge() -> int:
    """Delete finished deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS."""
    cutoff = timezone.now() - timedelta(days=int(settings.WEBHOOK_DELIVERY_RETENTION_DAYS))
    deleted, _ = (
        WebhookDelivery.objects.unscoped().filter(created_at__lt=cutoff).exclude(status=DeliveryStatus.PENDING).delete()
    )
    return deleted
