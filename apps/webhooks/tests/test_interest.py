"""Whether an event is recorded for an organization's endpoints, with the answer cached in Redis."""

from __future__ import annotations

import pytest

from apps.organizations.actors import Actor
from apps.webhooks import services
from apps.webhooks.models import WebhookDelivery
from common.events import EventType, emit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_url")]


def _announce(organization, capture) -> None:
    with capture(execute=True):
        emit(EventType.DOCUMENT_READY, organization=organization, payload={"document_id": "doc"})


def _deliveries(organization) -> int:
    return WebhookDelivery.objects.for_org(organization).count()


def test_events_of_an_organization_without_endpoints_cost_no_query_once_known(
    organization, django_capture_on_commit_callbacks, django_assert_num_queries
):
    _announce(organization, django_capture_on_commit_callbacks)
    with django_assert_num_queries(0):
        _announce(organization, django_capture_on_commit_callbacks)
    assert _deliveries(organization) == 0


def test_an_endpoint_added_after_events_were_ignored_gets_the_next_event(
    organization, django_capture_on_commit_callbacks
):
    _announce(organization, django_capture_on_commit_callbacks)  # remembered: nobody wants it
    services.webhook_endpoint_create(
        organization=organization,
        actor=Actor.system(organization=organization),
        url="http://127.0.0.1:9/hook",
        event_types=[EventType.DOCUMENT_READY],
    )
    _announce(organization, django_capture_on_commit_callbacks)
    assert _deliveries(organization) == 1


def test_a_disabled_or_deleted_endpoint_gets_nothing_from_the_next_event(
    organization, django_capture_on_commit_callbacks
):
    actor = Actor.system(organization=organization)
    endpoint = services.webhook_endpoint_create(
        organization=organization, actor=actor, url="http://127.0.0.1:9/hook", event_types=[EventType.DOCUMENT_READY]
    ).endpoint
    _announce(organization, django_capture_on_commit_callbacks)
    assert _deliveries(organization) == 1
    services.webhook_endpoint_update(organization=organization, actor=actor, endpoint_id=endpoint.pk, enabled=False)
    _announce(organization, django_capture_on_commit_callbacks)
    assert _deliveries(organization) == 1
    services.webhook_endpoint_update(organization=organization, actor=actor, endpoint_id=endpoint.pk, enabled=True)
    _announce(organization, django_capture_on_commit_callbacks)
    assert _deliveries(organization) == 2
