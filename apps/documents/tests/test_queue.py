"""Fair dispatch: one organization's backlog does not starve another's document, and at most the configured
number of indexing tasks is ever in the broker or running.

These tests send tasks through Celery's in-memory broker (not eager) and drain it in order, one message at a
time, as a worker would take them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import current_app

from apps.documents.models import Document, DocumentStatus
from apps.documents.services import documents as services
from apps.documents.services.queue import IN_FLIGHT, INDEX_TASK
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.actors import Actor
from apps.organizations.models import Organization
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Broker:
    """The default queue of the in-memory broker, read in order."""

    def __init__(self) -> None:
        self.connection = current_app.connection_for_read()
        self.queue = self.connection.SimpleQueue(current_app.conf.task_default_queue)
        self.queue.clear()

    def take(self) -> tuple[str, dict[str, str]] | None:
        try:
            message = self.queue.get(block=False)
        except self.queue.Empty:
            return None
        message.ack()
        _args, kwargs, _embed = message.decode()
        return message.headers["task"], kwargs

    def pending(self) -> list[str]:
        return [document_id for _name, kwargs in iter(self.take, None) for document_id in _documents_of(kwargs)]

    def close(self) -> None:
        self.queue.clear()
        self.queue.close()
        self.connection.release()


@pytest.fixture
def broker(settings) -> Iterator[Broker]:
    conf = current_app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = False
    broker = Broker()
    try:
        yield broker
    finally:
        broker.close()
        conf.task_always_eager = saved


def _documents_of(kwargs: dict[str, Any]) -> list[str]:
    """The documents a task carries: one, or several sent together (ADR 0128)."""
    return list(kwargs.get("document_ids") or [kwargs["document_id"]])


def _queue_documents(organization: Organization, count: int, label: str) -> list[str]:
    collection = CollectionFactory(organization=organization)
    actor = Actor.system(organization=organization, label="test")
    return [
        str(
            services.document_create_from_text(
                collection=collection, actor=actor, title=f"{label} {i}", text=f"{label} notes number {i}: pumps."
            ).document.pk
        )
        for i in range(count)
    ]


def _work(broker: Broker, *, until: str | None = None) -> list[str]:
    """Run the queued tasks in broker order, as a worker with one process would; returns the documents in the
    order they became ready (stopping once `until` is ready)."""
    finished: list[str] = []
    while (taken := broker.take()) is not None:
        name, kwargs = taken
        assert name == INDEX_TASK
        current_app.tasks[name].apply(kwargs=kwargs)
        for document_id in _documents_of(kwargs):
            if Document.objects.unscoped().get(pk=document_id).status == DocumentStatus.READY:
                finished.append(document_id)
        if until in finished:
            break
    return finished


def test_a_lone_document_of_another_organization_is_indexed_before_a_big_backlog_drains(broker, settings):
    settings.DOCUMENTS_DISPATCH_MAX_IN_FLIGHT = 4
    busy, quiet = OrganizationFactory(), OrganizationFactory()
    backlog = _queue_documents(busy, 30, "Backlog")
    (lone,) = _queue_documents(quiet, 1, "Lone")

    finished = _work(broker, until=lone)

    assert finished[-1] == lone
    # Ahead of it: at most the tasks already in flight when it was queued, and the one that freed its slot.
    assert len(finished) - 1 <= settings.DOCUMENTS_DISPATCH_MAX_IN_FLIGHT + 1
    assert Document.objects.for_org(busy).exclude(status=DocumentStatus.READY).count() >= 30 - 5
    rest = _work(broker)
    assert sorted(rest) == sorted(set(backlog) - set(finished))
    assert Document.objects.for_org(busy).filter(status=DocumentStatus.READY).count() == 30


def test_the_backlog_waits_in_the_database_not_in_the_broker(broker, settings):
    settings.DOCUMENTS_DISPATCH_MAX_IN_FLIGHT = 3
    organization = OrganizationFactory()
    backlog = _queue_documents(organization, 10, "Backlog")

    sent = broker.pending()

    assert sent == backlog[:3]  # the oldest first
    assert Document.objects.unscoped().filter(IN_FLIGHT).count() == 3
    assert Document.objects.for_org(organization).filter(dispatched_at__isnull=True).count() == 7


def test_with_no_limit_every_document_is_sent_first_come_first_served(broker, settings):
    settings.DOCUMENTS_DISPATCH_MAX_IN_FLIGHT = 0
    busy, quiet = OrganizationFactory(), OrganizationFactory()
    backlog = _queue_documents(busy, 6, "Backlog")
    (lone,) = _queue_documents(quiet, 1, "Lone")

    assert broker.pending() == [*backlog, lone]


def test_a_per_organization_cap_keeps_slots_for_the_others(broker, settings):
    settings.DOCUMENTS_DISPATCH_MAX_IN_FLIGHT = 6
    settings.DOCUMENTS_DISPATCH_MAX_PER_ORGANIZATION = 2
    busy, quiet = OrganizationFactory(), OrganizationFactory()
    backlog = _queue_documents(busy, 6, "Backlog")
    (lone,) = _queue_documents(quiet, 1, "Lone")

    assert broker.pending() == [*backlog[:2], lone]


def _upload_together(organization: Organization, count: int, label: str) -> list[str]:
    """`count` documents queued in one transaction (one upload of several files)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    collection = CollectionFactory(organization=organization)
    actor = Actor.system(organization=organization, label="test")
    files = [SimpleUploadedFile(f"{label}-{i}.txt", f"{label} notes number {i}: pumps.".encode()) for i in range(count)]
    results = services.document_create_from_uploads(collection=collection, actor=actor, files=files)
    return [str(result.document.pk) for result in results]


def test_documents_sent_together_travel_in_tasks_of_a_few_and_each_holds_a_slot(broker, settings):
    settings.DOCUMENTS_DISPATCH_MAX_IN_FLIGHT = 6
    settings.DOCUMENTS_INDEX_BATCH_SIZE = 4
    busy, quiet = OrganizationFactory(), OrganizationFactory()
    backlog = _upload_together(busy, 10, "Backlog")
    (lone,) = _queue_documents(quiet, 1, "Lone")  # every slot is taken: it waits

    first, second = broker.take(), broker.take()
    assert broker.take() is None
    assert first is not None and second is not None
    assert (_documents_of(first[1]), _documents_of(second[1])) == (backlog[:4], backlog[4:6])
    assert Document.objects.unscoped().filter(IN_FLIGHT).count() == 6
    assert Document.objects.for_org(quiet).get().dispatched_at is None

    current_app.tasks[INDEX_TASK].apply(kwargs=first[1])  # four slots free: the quiet organization's first

    assert broker.pending() == [lone, *backlog[6:9]]
    assert Document.objects.for_org(busy).filter(status=DocumentStatus.READY).count() == 4
