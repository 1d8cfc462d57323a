"""Events reach a loopback receiver as signed deliveries: retries after errors and timeouts, order per endpoint,
automatic disabling of an endpoint that keeps failing, redelivery, and the address checks at send time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.organizations.actors import Actor
from apps.organizations.models import AuditEvent, Role
from apps.organizations.tests.factories import MembershipFactory
from apps.webhooks import services
from apps.webhooks.models import DeliveryStatus, DisabledReason, WebhookDelivery, WebhookEndpoint
from apps.webhooks.tasks import webhook_sweep_task
from apps.webhooks.tests.receiver import Answer
from common.events import EventType, emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(organization, receiver):
    issued = services.webhook_endpoint_create(
        organization=organization,
        actor=Actor.system(organization=organization),
        url=receiver.url,
        event_types=[EventType.DOCUMENT_READY, EventType.DOCUMENT_FAILED],
    )
    receiver.secrets.append(issued.secret)
    return issued.endpoint


@pytest.fixture
def announce(organization, django_capture_on_commit_callbacks):
    """announce("document.ready", n=1): emit events in one transaction; deliveries run after it commits."""

    def run(event_type: str = EventType.DOCUMENT_READY, n: int = 1, organization_=None) -> list:
        with django_capture_on_commit_callbacks(execute=True):
            return [
                emit(event_type, organization=organization_ or organization, payload={"document_id": f"doc-{i}"})
                for i in range(n)
            ]

    return run


def _deliveries(endpoint) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.for_org(endpoint.organization_id).filter(endpoint=endpoint).order_by("sequence")
    )


def _sweep_when_due(endpoint, django_capture_on_commit_callbacks) -> None:
    """Let time pass: every pending delivery of the endpoint is due now, and the periodic sweep runs."""
    WebhookDelivery.objects.for_org(endpoint.organization_id).filter(endpoint=endpoint, status="pending").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        webhook_sweep_task.apply()


def test_an_event_is_delivered_signed_with_the_endpoints_secret(endpoint, receiver, announce):
    (event,) = announce()
    (request,) = receiver.received
    assert request.verified, "the reference library rejected the signature"
    assert request.headers["webhook-id"] == f"msg_{event.id}"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["type"] == "document.ready"
    assert body["data"] == {"document_id": "doc-0"}
    assert body["sequence"] == 1 and body["organization_id"] == str(endpoint.organization_id)
    (delivery,) = _deliveries(endpoint)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 1
    (attempt,) = delivery.attempts
    assert attempt["status_code"] == 200 and attempt["succeeded"] and attempt["latency_ms"] >= 0
    assert attempt["response_body"] == "ok"


def test_events_the_endpoint_did_not_choose_and_other_organizations_events_are_not_sent(
    endpoint, receiver, announce, other_organization
):
    announce(EventType.MEMBER_ADDED)
    announce(EventType.DOCUMENT_READY, organization_=other_organization)
    assert receiver.received == [] and _deliveries(endpoint) == []


def test_a_disabled_endpoint_gets_nothing(endpoint, receiver, announce, organization):
    services.webhook_endpoint_update(
        organization=organization, actor=Actor.system(organization=organization), endpoint_id=endpoint.pk, enabled=False
    )
    announce()
    assert receiver.received == [] and _deliveries(endpoint) == []


def test_a_500_is_retried_with_the_same_message_and_recorded(endpoint, receiver, announce, fast_retries):
    receiver.script = [Answer(status=500, body=b"x" * 5000)]
    announce()
    assert len(receiver.received) == 2
    assert receiver.message_ids[0] == receiver.message_ids[1]
    assert receiver.received[0].body == receiver.received[1].body
    assert all(r.verified for r in receiver.received)
    (delivery,) = _deliveries(endpoint)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 2
    failed, succeeded = delivery.attempts
    assert failed["status_code"] == 500 and failed["error"] == "HTTP 500." and not failed["succeeded"]
    assert len(failed["response_body"]) == 2000  # truncated
    assert succeeded["status_code"] == 200


def test_a_receiver_that_does_not_answer_in_time_is_retried(endpoint, receiver, announce, fast_retries, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.script = [Answer(delay=2.0)]
    announce()
    assert len(receiver.received) == 2
    (delivery,) = _deliveries(endpoint)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts[0]["error"] == "The endpoint did not answer in time."
    assert delivery.attempts[0]["status_code"] is None


def test_a_failed_attempt_waits_with_backoff_and_newer_deliveries_wait_behind_it(
    endpoint, receiver, announce, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [30, 300, 1200, 2100]
    receiver.script = [Answer(status=503)]
    before = timezone.now()
    events = announce(n=3)
    assert len(receiver.received) == 1  # the two newer events wait for the first one
    first, second, third = _deliveries(endpoint)
    assert first.status == DeliveryStatus.PENDING and first.attempt_count == 1
    wait = (first.next_attempt_at - before).total_seconds()
    assert 30 * 0.8 - 1 <= wait <= 30 * 1.2 + 5  # 30 s, jittered by ±20%
    assert second.attempt_count == 0 and third.attempt_count == 0

    _sweep_when_due(endpoint, django_capture_on_commit_callbacks)
    assert receiver.message_ids == [f"msg_{e.id}" for e in (events[0], *events)]
    assert [json.loads(r.body)["sequence"] for r in receiver.received] == [1, 1, 2, 3]
    assert {d.status for d in _deliveries(endpoint)} == {DeliveryStatus.SUCCEEDED}


def test_the_backoff_grows_and_is_jittered(settings):
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [30, 300, 1200, 2100]
    settings.WEBHOOK_RETRY_JITTER = 0.2
    assert services.max_attempts() == 5
    delays = [[services.retry_delay(n) for _ in range(20)] for n in (1, 2, 3, 4)]
    for base, samples in zip([30, 300, 1200, 2100], delays, strict=True):
        assert all(base * 0.8 <= s <= base * 1.2 for s in samples)
        assert len(set(samples)) > 1  # jittered
    assert 3600 * 0.8 <= sum([30, 300, 1200, 2100]) <= 3600 * 1.1  # five attempts over about an hour


def test_deliveries_are_attempted_in_event_order(endpoint, receiver, announce):
    events = announce(n=5)
    assert receiver.message_ids == [f"msg_{e.id}" for e in events]
    assert [json.loads(r.body)["sequence"] for r in receiver.received] == [1, 2, 3, 4, 5]


def test_a_delivery_that_fails_every_attempt_ends_failed_and_the_next_one_goes(
    endpoint, receiver, announce, fast_retries
):
    receiver.script = [Answer(status=500)] * 5
    first, second = announce(n=2)
    assert receiver.message_ids == [f"msg_{first.id}"] * 5 + [f"msg_{second.id}"]
    failed, delivered = _deliveries(endpoint)
    assert failed.status == DeliveryStatus.FAILED and failed.attempt_count == 5 and failed.next_attempt_at is None
    assert delivered.status == DeliveryStatus.SUCCEEDED
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.failing_since is None  # the success reset them


def test_an_endpoint_that_keeps_failing_is_disabled_and_the_admins_are_told(
    endpoint, receiver, announce, fast_retries, settings, organization
):
    settings.WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES = 2
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    admin = MembershipFactory(organization=organization, role=Role.ADMIN).user
    member = MembershipFactory(organization=organization, role=Role.MEMBER).user
    receiver.default = Answer(status=500, body=b"database down")
    announce(n=3)
    assert len(receiver.received) == 10  # two deliveries of five attempts; the third waits
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == DisabledReason.FAILING
    assert endpoint.consecutive_failures == 2
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([owner.email, admin.email]) and member.email not in recipients
    assert endpoint.url in mail.outbox[0].body and "HTTP 500." in mail.outbox[0].body
    audit = AuditEvent.objects.for_org(organization).get(action="webhook.disabled")
    assert audit.actor_kind == "system" and audit.target_id == str(endpoint.pk)
    announce()  # no new deliveries while disabled
    assert len(_deliveries(endpoint)) == 3 and len(receiver.received) == 10


def test_an_endpoint_failing_for_a_day_is_disabled(endpoint, receiver, announce, settings):
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [60]
    WebhookEndpoint.objects.for_org(endpoint.organization_id).filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=25)
    )
    receiver.default = Answer(status=502)
    announce()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == DisabledReason.FAILING
    assert endpoint.consecutive_failures == 0  # the delivery itself is still retrying: the time decided


def test_enabling_again_sends_what_waited_in_order(
    endpoint, receiver, announce, fast_retries, settings, organization, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES = 1
    receiver.script = [Answer(status=500)] * 5
    _, second = announce(n=2)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and len(receiver.received) == 5
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_endpoint_update(
            organization=organization,
            actor=Actor.system(organization=organization),
            endpoint_id=endpoint.pk,
            enabled=True,
        )
    assert receiver.message_ids[5:] == [f"msg_{second.id}"]
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == "" and endpoint.consecutive_failures == 0


def test_a_redelivery_sends_the_same_message_again(
    endpoint, receiver, announce, organization, django_capture_on_commit_callbacks
):
    announce()
    (delivery,) = _deliveries(endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_delivery_redeliver(
            organization=organization,
            actor=Actor.system(organization=organization),
            endpoint_id=endpoint.pk,
            delivery_id=delivery.pk,
        )
    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body
    assert receiver.message_ids[0] == receiver.message_ids[1]
    assert all(r.verified for r in receiver.received)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(delivery.attempts) == 2


def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(endpoint, receiver, announce, organization):
    old = receiver.secrets.pop()
    issued = services.webhook_endpoint_rotate_secret(
        organization=organization, actor=Actor.system(organization=organization), endpoint_id=endpoint.pk
    )
    assert issued.secret != old
    announce()
    (request,) = receiver.received
    receiver.secrets[:] = [issued.secret]
    assert receiver.verify(request.body, request.headers)
    receiver.secrets[:] = [old]
    assert receiver.verify(request.body, request.headers)
    WebhookEndpoint.objects.for_org(organization).filter(pk=endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    announce()
    assert not receiver.verify(receiver.received[1].body, receiver.received[1].headers)


def test_a_redirect_is_a_failure_and_is_not_followed(endpoint, receiver, announce, settings):
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [60]
    receiver.script = [Answer(status=307, headers=(("Location", receiver.url + "/elsewhere"),))]
    announce()
    assert [r.path for r in receiver.received] == ["/hooks"]
    (delivery,) = _deliveries(endpoint)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts[0]["error"] == "HTTP 307: redirects are not followed."


def test_a_host_that_now_resolves_to_a_private_address_is_refused_at_delivery(
    organization, receiver, announce, fake_dns, settings
):
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [60]
    port = receiver.url.split(":")[2].split("/")[0]
    fake_dns("hooks.example.test", "127.0.0.1")
    issued = services.webhook_endpoint_create(
        organization=organization,
        actor=Actor.system(organization=organization),
        url=f"http://hooks.example.test:{port}/hooks",
        event_types=[EventType.DOCUMENT_READY],
    )
    receiver.secrets.append(issued.secret)
    announce()
    (request,) = receiver.received  # connected to the checked address, named by its host
    assert request.headers["host"] == f"hooks.example.test:{port}" and request.verified

    fake_dns("hooks.example.test", "10.0.0.7")  # the DNS answer changes after the endpoint was saved
    announce()
    assert len(receiver.received) == 1
    latest = _deliveries(issued.endpoint)[-1]
    assert latest.status == DeliveryStatus.PENDING
    assert "non-public address" in latest.attempts[0]["error"]
    assert latest.attempts[0]["status_code"] is None


def test_loopback_is_refused_at_delivery_unless_allowed(endpoint, receiver, announce, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [60]
    announce()
    assert receiver.received == []
    (delivery,) = _deliveries(endpoint)
    assert "Refused before sending" in delivery.attempts[0]["error"]


def test_the_same_event_heard_twice_is_recorded_once(endpoint, receiver, organization):
    from common.events import DomainEvent

    event = DomainEvent(type="document.ready", organization_id=str(organization.pk), payload={})
    services.webhook_event_record(event=event)
    services.webhook_event_record(event=event)
    assert len(_deliveries(endpoint)) == 1


def test_a_worker_holding_the_endpoint_keeps_others_from_sending(endpoint, receiver, organization):
    import uuid

    from common.events import DomainEvent

    services.webhook_event_record(
        event=DomainEvent(type="document.ready", organization_id=str(organization.pk), payload={})
    )
    assert services._lease_take(organization.pk, endpoint.pk, uuid.uuid4())  # another worker
    assert services.webhook_endpoint_drain(organization_id=organization.pk, endpoint_id=endpoint.pk) is None
    assert receiver.received == []


def test_old_finished_deliveries_are_purged(endpoint, settings):
    from apps.webhooks.tests.factories import WebhookDeliveryFactory

    old = WebhookDeliveryFactory(endpoint=endpoint)
    pending = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.PENDING, next_attempt_at=None)
    recent = WebhookDeliveryFactory(endpoint=endpoint)
    WebhookDelivery.objects.for_org(endpoint.organization_id).filter(pk__in=[old.pk, pending.pk]).update(
        created_at=timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS + 1)
    )
    assert services.webhook_deliveries_purge() == 1
    assert {d.pk for d in _deliveries(endpoint)} == {pending.pk, recent.pk}


def test_a_binary_answer_is_kept_readable(endpoint, receiver, announce, settings):
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [60]
    receiver.script = [Answer(status=500, body=b"\x00\xff\xfeboom\x00")]
    announce()
    (delivery,) = _deliveries(endpoint)
    assert delivery.attempts[0]["response_body"] == "\ufffd\ufffdboom"


def test_only_the_failed_attempt_sets_a_timer_for_the_retry(endpoint, receiver, organization, settings):
    from common.events import DomainEvent

    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [60]
    receiver.script = [Answer(status=500)]
    for _ in range(2):
        services.webhook_event_record(
            event=DomainEvent(type="document.ready", organization_id=str(organization.pk), payload={})
        )
    wait = services.webhook_endpoint_drain(organization_id=organization.pk, endpoint_id=endpoint.pk)
    assert wait is not None and 40 <= wait <= 75
    # a later event's drain finds the oldest delivery waiting: it neither sends nor sets another timer
    assert services.webhook_endpoint_drain(organization_id=organization.pk, endpoint_id=endpoint.pk) is None
    assert len(receiver.received) == 1
