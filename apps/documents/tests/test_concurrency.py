"""Identical content uploaded twice at the same moment ends as one document: the second request gets the
first one back, as any re-upload does, and the database refuses a second copy in the collection."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction

from apps.documents.models import Document, DocumentSource
from apps.documents.tests.factories import CollectionFactory, DocumentFactory
from apps.organizations.models import Organization, Role

pytestmark = pytest.mark.django_db(transaction=True)

CONTENT = b"The intake screen is cleaned every week; the impeller is checked every six months."


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # statistics are otherwise frozen per transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.02)


def _upload_in_thread(client, collection, name: str, responses: list) -> threading.Thread:
    def run() -> None:
        try:
            responses.append(
                client.post(
                    f"/api/v1/collections/{collection.id}/documents",
                    {"files": [SimpleUploadedFile(name, CONTENT)]},
                    format="multipart",
                )
            )
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _check_one_document_and_one_duplicate(responses, organization) -> None:
    assert [r.status_code for r in responses] == [202, 202], [r.content for r in responses]
    documents = [r.json()["documents"][0] for r in responses]
    assert documents[0]["id"] == documents[1]["id"]
    assert sorted(d["duplicate"] for d in documents) == [False, True]
    assert Document.objects.for_org(organization).count() == 1


def test_two_simultaneous_uploads_of_the_same_file_make_one_document(make_member_client, organization):
    collection = CollectionFactory(organization=organization)
    clients = [make_member_client(organization, Role.ADMIN) for _ in range(2)]
    responses: list = []
    # Hold the organization row (as a long upload would) so both requests pass their first look for the
    # content and queue up behind it: the race the first look alone cannot win.
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=organization.pk)
        threads = [_upload_in_thread(c, collection, f"copy-{i}.txt", responses) for i, c in enumerate(clients)]
        _wait_until(lambda: _waiting_on_locks() == 2, "both uploads wait for the organization")
    for thread in threads:
        thread.join(timeout=60)
    _check_one_document_and_one_duplicate(responses, organization)


def test_an_upload_racing_another_writer_returns_that_writers_document(make_member_client, organization):
    collection = CollectionFactory(organization=organization)
    client = make_member_client(organization, Role.ADMIN)
    responses: list = []
    # Another writer (not taking the organization lock) inserts the same content and commits only once the
    # upload is already inserting: the unique constraint makes the upload wait, then fail, then reuse it.
    with transaction.atomic():
        other = DocumentFactory(
            collection=collection, source=DocumentSource.UPLOAD, sha256=hashlib.sha256(CONTENT).hexdigest()
        )
        thread = _upload_in_thread(client, collection, "copy.txt", responses)
        _wait_until(lambda: _waiting_on_locks() == 1, "the upload waits on the other writer's row")
    thread.join(timeout=60)
    assert responses[0].status_code == 202, responses[0].content
    body = responses[0].json()["documents"][0]
    assert body["id"] == str(other.pk)
    assert body["duplicate"] is True
    assert Document.objects.for_org(organization).count() == 1


def test_the_database_refuses_a_second_copy_of_content_in_a_collection(organization):
    collection = CollectionFactory(organization=organization)
    DocumentFactory(collection=collection, sha256="a" * 64)
    DocumentFactory(collection=CollectionFactory(organization=organization), sha256="a" * 64)  # another collection
    with pytest.raises(IntegrityError):
        DocumentFactory(collection=collection, sha256="a" * 64)


def test_url_imports_may_share_content_and_queued_ones_have_no_hash_yet(organization):
    collection = CollectionFactory(organization=organization)
    for url in ("https://example.com/a", "https://mirror.example.com/a"):
        DocumentFactory(collection=collection, source=DocumentSource.URL, source_url=url, sha256="b" * 64)
    DocumentFactory(collection=collection, source=DocumentSource.URL, source_url="https://x.example/1", sha256="")
    DocumentFactory(collection=collection, source=DocumentSource.URL, source_url="https://x.example/2", sha256="")
    assert Document.objects.for_org(organization).count() == 4
