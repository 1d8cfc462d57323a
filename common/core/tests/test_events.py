"""Domain events reach subscribers after commit, never after a rollback, and one failing subscriber harms nothing."""

from __future__ import annotations

import pytest
from django.db import transaction

from common.events import ALL, EventType, emit, subscribe, unsubscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    events: list = []
    subscribe(ALL, events.append)
    yield events
    unsubscribe(ALL, events.append)


def test_an_event_is_heard_only_once_the_transaction_commits(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        emit(EventType.DOCUMENT_READY, organization="org-1", payload={"document_id": "d1"})
        assert heard == []
    assert [(e.type, e.organization_id, e.payload) for e in heard] == [
        ("document.ready", "org-1", {"document_id": "d1"})
    ]


def test_an_event_emitted_in_a_rolled_back_transaction_is_never_heard(heard, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        emit(EventType.DOCUMENT_READY, organization="org-1", payload={})
        raise RuntimeError("the service failed after emitting")
    assert heard == []


def test_a_failing_subscriber_does_not_stop_the_others(heard, django_capture_on_commit_callbacks):
    def broken(event):
        raise ValueError("subscriber bug")

    subscribe(EventType.FEEDBACK_CREATED, broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            emit(EventType.FEEDBACK_CREATED, organization="org-1", payload={"rating": "up"})
    finally:
        unsubscribe(EventType.FEEDBACK_CREATED, broken)
    assert [e.type for e in heard] == ["feedback.created"]


def test_an_unknown_event_type_is_refused_at_once():
    with pytest.raises(ValueError):
        emit("document.exploded", organization="org-1", payload={})
    with pytest.raises(ValueError):
        subscribe("document.exploded", print)
