"""The Django admin shows collections, documents (with their diagnostics, read-only) and chunks (read-only)."""

from __future__ import annotations

import pytest

from apps.documents.models import DocumentStatus
from apps.documents.tests.factories import ChunkFactory, CollectionFactory, DocumentFactory
from apps.users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    superuser = User.objects.create_superuser(email="root@example.com", password="x-Very-long-passw0rd")
    client.force_login(superuser)
    return client


def test_the_admin_lists_collections_documents_and_chunks(staff_client, organization):
    collection = CollectionFactory(organization=organization, name="Handbook")
    ready = DocumentFactory(collection=collection, title="Ready manual", status=DocumentStatus.READY)
    DocumentFactory(collection=collection, title="Broken scan", status=DocumentStatus.FAILED)
    chunk = ChunkFactory(document=ready, text="Check the impeller every six months.")
    assert "Handbook" in staff_client.get("/admin/documents/collection/").content.decode()
    failed_only = staff_client.get("/admin/documents/document/?status__exact=failed").content.decode()
    assert "Broken scan" in failed_only and "Ready manual" not in failed_only
    assert "impeller" in staff_client.get(f"/admin/documents/chunk/{chunk.pk}/change/").content.decode()


def test_a_documents_indexing_record_and_its_chunks_are_read_only_in_the_admin(staff_client, organization):
    document = DocumentFactory(
        collection=CollectionFactory(organization=organization),
        status=DocumentStatus.FAILED,
        error_code="no_extractable_text",
        diagnostics={"pages_parsed": 2, "empty_pages": [1, 2]},
    )
    chunk = ChunkFactory(document=document)
    page = staff_client.get(f"/admin/documents/document/{document.pk}/change/").content.decode()
    assert "no_extractable_text" in page
    assert 'name="error_code"' not in page and 'name="sha256"' not in page and 'name="diagnostics"' not in page
    chunk_page = staff_client.get(f"/admin/documents/chunk/{chunk.pk}/change/")
    assert chunk_page.status_code == 200
    assert 'name="text"' not in chunk_page.content.decode()
    assert staff_client.post("/admin/documents/chunk/add/").status_code == 403
