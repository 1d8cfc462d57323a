"""Domain events reach subscribers after commit, never after a rollback, and one failing subscriber harms nothing."""

from __future__ import annotations

import pytest
from django.db import transaction

from common.events import (
    ALL,
    EventType,
    deliveries_held,
    delivery_memo,
    emit,
    subscribe,
    unsubscribe,
    with_deliveries,
)

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


def test_events_committed_in_a_held_block_are_heard_when_it_ends_in_order_and_together(
    heard, django_capture_on_commit_callbacks
):
    memos: list[int] = []

    def remember_memo(event):
        memos.append(id(delivery_memo()))

    subscribe(ALL, remember_memo)
    try:
        with deliveries_held():
            with django_capture_on_commit_callbacks(execute=True):  # the commit
                emit(EventType.CONVERSATION_CREATED, organization="org-1", payload={"n": 1})
                transaction.on_commit(lambda: with_deliveries(lambda: heard.append("the marker")))
                emit(EventType.MESSAGE_CREATED, organization="org-1", payload={"n": 2})
            assert heard == []  # what the client waits for is not spent on them
    finally:
        unsubscribe(ALL, remember_memo)
    assert [getattr(e, "type", e) for e in heard] == ["conversation.created", "the marker", "message.created"]
    assert len(memos) == 2 and memos[0] == memos[1]  # one delivery memo: what subscribers read, read once


def test_a_held_block_that_raises_still_delivers_what_was_committed(heard, django_capture_on_commit_callbacks):
    with pytest.raises(RuntimeError), deliveries_held():
        with django_capture_on_commit_callbacks(execute=True):
            emit(EventType.MESSAGE_CREATED, organization="org-1", payload={})
        raise RuntimeError("the view failed after the commit")
    assert [e.type for e in heard] == ["message.created"]


def test_work_given_to_with_deliveries_runs_at_once_when_nothing_is_held_and_nested_blocks_deliver_once(
    heard, django_capture_on_commit_callbacks
):
    done: list[str] = []
    with_deliveries(lambda: done.append("now"))
    assert done == ["now"]
    with deliveries_held():
        with deliveries_held(), django_capture_on_commit_callbacks(execute=True):
            emit(EventType.MESSAGE_CREATED, organization="org-1", payload={})
        assert heard == []  # the outermost block delivers
    assert [e.type for e in heard] == ["message.created"]


def test_a_context_copied_inside_a_held_block_delivers_at_once_after_the_block_ended(
    heard, django_capture_on_commit_callbacks
):
    """A thread started inside a held block (its context a copy of the block's) outlives it: what it delivers after
    the block ended must not join the block's list, which nobody reads again."""
    import contextvars

    with deliveries_held():
        copied = contextvars.copy_context()

    def later():
        with django_capture_on_commit_callbacks(execute=True):
            emit(EventType.MESSAGE_CREATED, organization="org-1", payload={})

    copied.run(later)
    assert [e.type for e in heard] == ["message.created"]
