"""What the documents app tells subscribers: a document added, ready, failed and deleted, in that order."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.documents.services import documents as services
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.actors import Actor
from common.events import ALL, subscribe, unsubscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    events: list = []
    subscribe(ALL, events.append)
    yield events
    unsubscribe(ALL, events.append)


def test_an_upload_is_announced_as_created_then_ready_with_its_chunk_count(heard, django_capture_on_commit_callbacks):
    collection = CollectionFactory()
    actor = Actor.system(organization=collection.organization)
    with django_capture_on_commit_callbacks(execute=True):
        (result,) = services.document_create_from_uploads(
            collection=collection, actor=actor, files=[SimpleUploadedFile("notes.txt", b"Pumps need seals. " * 20)]
        )
    document_events = [e for e in heard if e.payload.get("document_id") == str(result.document.pk)]
    assert [e.type for e in document_events] == ["document.created", "document.ready"]
    ready = document_events[-1]
    assert ready.organization_id == str(collection.organization_id)
    assert ready.payload["status"] == "ready" and ready.payload["chunk_count"] >= 1


def test_a_file_that_cannot_be_read_is_announced_as_failed_with_its_reason(heard, django_capture_on_commit_callbacks):
    collection = CollectionFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.document_create_from_uploads(
            collection=collection,
            actor=Actor.system(organization=collection.organization),
            files=[SimpleUploadedFile("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50)],
        )
    failed = [e for e in heard if e.type == "document.failed"]
    assert len(failed) == 1
    assert failed[0].payload["error_code"] == "corrupt_file"


def test_a_deleted_document_is_announced_after_the_delete_commits(heard, django_capture_on_commit_callbacks):
    collection = CollectionFactory()
    actor = Actor.system(organization=collection.organization)
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_create_from_text(collection=collection, actor=actor, title="T", text="Some text.")
    document_id = str(document.document.pk)
    heard.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.document_delete(document=document.document, actor=actor)
    assert [(e.type, e.payload["document_id"]) for e in heard] == [("document.deleted", document_id)]
