"""Whether an event is recorded for an organization's endpoints, with the answer cached in Redis."""

from __future__ import annotations

import json

import pytest

from apps.organizations.actors import Actor
from apps.webhooks import interest, services
from apps.webhooks.models import WebhookDelivery
from common.events import EventType, delivered_together, emit

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


def _count_interest_reads(monkeypatch) -> list[object]:
    """Each Redis read of an organization's webhook interest, as it is sent."""
    reads: list[object] = []
    real = interest.hot_execute

    def counted(*commands, **kwargs):
        reads.extend(command for command in commands if command[0] == "MGET")
        return real(*commands, **kwargs)

    monkeypatch.setattr(interest, "hot_execute", counted)
    return reads


def _endpoint(organization, *event_types) -> None:
    services.webhook_endpoint_create(
        organization=organization,
        actor=Actor.system(organization=organization),
        url="http://127.0.0.1:9/hook",
        event_types=list(event_types),
    )


def test_events_of_one_commit_read_the_interest_once_and_each_reaches_the_endpoint(
    organization, django_capture_on_commit_callbacks, monkeypatch
):
    _endpoint(organization, EventType.CONVERSATION_CREATED, EventType.MESSAGE_CREATED)
    reads = _count_interest_reads(monkeypatch)
    with delivered_together(), django_capture_on_commit_callbacks(execute=True):
        emit(EventType.CONVERSATION_CREATED, organization=organization, payload={"conversation_id": "c"})
        emit(EventType.MESSAGE_CREATED, organization=organization, payload={"message_id": "m"})
    assert len(reads) == 1
    assert sorted(WebhookDelivery.objects.for_org(organization).values_list("event_type", flat=True)) == [
        "conversation.created",
        "message.created",
    ]
    with django_capture_on_commit_callbacks(execute=True):  # delivered apart: read for each
        emit(EventType.CONVERSATION_CREATED, organization=organization, payload={"conversation_id": "c2"})
        emit(EventType.MESSAGE_CREATED, organization=organization, payload={"message_id": "m2"})
    assert len(reads) == 3 and _deliveries(organization) == 4


@pytest.mark.django_db(transaction=True)
def test_a_new_conversations_question_and_its_answer_reach_the_endpoints_with_two_interest_reads(
    organization, member_client, monkeypatch
):
    from apps.chatbot.tests.conftest import HANDBOOK
    from apps.chatbot.tests.factories import ChatbotFactory

    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))
    bot = ChatbotFactory(organization=organization)
    _endpoint(organization, EventType.CONVERSATION_CREATED, EventType.MESSAGE_CREATED)
    reads = _count_interest_reads(monkeypatch)
    response = member_client.post(f"/api/v1/bots/{bot.id}/chat", {"message": "How many vacation days?"})
    assert response.status_code == 200, response.content
    answer = response.json()
    delivered = WebhookDelivery.objects.for_org(organization).order_by("sequence")
    assert [(d.event_type, json.loads(d.body)["data"].get("message_id")) for d in delivered] == [
        ("conversation.created", None),
        ("message.created", answer["user_message_id"]),
        ("message.created", answer["message_id"]),
    ]
    assert len(reads) == 2  # the question's two events together, then the answer's
