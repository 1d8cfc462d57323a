"""The documents pages: list with status and reasons, upload form, detail with diagnostics, roles."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.documents.models import Collection, Document, DocumentStatus
from apps.documents.tests.factories import CollectionFactory, DocumentFactory
from apps.documents.tests.fixtures import make_scanned_pdf
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _client(organization, role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def test_member_sees_collections_documents_and_failure_reasons(organization, collection):
    DocumentFactory(collection=collection, title="Manual", status=DocumentStatus.READY)
    DocumentFactory(
        collection=collection,
        title="Scan",
        status=DocumentStatus.FAILED,
        error_code="no_extractable_text",
        error_message="No text could be extracted; run OCR.",
    )
    page = _client(organization, Role.MEMBER).get("/documents/").content.decode()
    assert "Handbook" in page and "Manual" in page
    assert "No text could be extracted; run OCR." in page
    assert "Upload" not in page  # members cannot add documents
    assert "Upload" in _client(organization, Role.ADMIN).get("/documents/").content.decode()


def test_the_page_polls_while_documents_are_indexing(organization, collection):
    DocumentFactory(collection=collection, status=DocumentStatus.PROCESSING, progress=40)
    page = _client(organization, Role.MEMBER).get("/documents/").content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert _client(organization, Role.MEMBER).get("/documents/table/").status_code == 200


def test_admin_uploads_through_the_form_and_sees_the_failure_explained(
    organization, collection, django_capture_on_commit_callbacks
):
    client = _client(organization, Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/documents/collections/{collection.id}/add/",
            {"kind": "upload", "files": [SimpleUploadedFile("scan.pdf", make_scanned_pdf())]},
        )
    assert response.status_code == 302
    document = Document.objects.unscoped().get()
    assert document.status == DocumentStatus.FAILED
    detail = client.get(f"/documents/{document.id}/").content.decode()
    assert "no_extractable_text" in detail and "OCR" in detail


def test_admin_creates_a_collection_and_adds_text(organization, django_capture_on_commit_callbacks):
    client = _client(organization, Role.ADMIN)
    client.post("/documents/", {"name": "Policies"})
    collection = Collection.objects.for_org(organization).get(name="Policies")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/documents/collections/{collection.id}/add/",
            {"kind": "text", "title": "Refunds", "text": "Refunds within 14 days."},
        )
    assert Document.objects.for_org(organization).get().status == DocumentStatus.READY


def test_member_cannot_delete_from_the_page(organization, collection):
    document = DocumentFactory(collection=collection)
    response = _client(organization, Role.MEMBER).post(f"/documents/{document.id}/delete/")
    assert response.status_code == 403
    assert Document.objects.unscoped().filter(pk=document.pk).exists()


def test_admin_deletes_from_the_page(organization, collection):
    document = DocumentFactory(collection=collection)
    response = _client(organization, Role.ADMIN).post(f"/documents/{document.id}/delete/")
    assert response.status_code == 302
    assert not Document.objects.unscoped().filter(pk=document.pk).exists()


def test_another_organizations_document_page_is_not_found(organization, other_organization):
    foreign = DocumentFactory(collection=CollectionFactory(organization=other_organization))
    assert _client(organization, Role.ADMIN).get(f"/documents/{foreign.id}/").status_code == 404


def test_anonymous_visitors_are_sent_to_login():
    response = Client().get("/documents/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_add_forms_survive_the_progress_refresh(organization, collection):
    DocumentFactory(collection=collection, status=DocumentStatus.PROCESSING, progress=40)
    client = _client(organization, Role.ADMIN)
    for page in (client.get("/documents/").content.decode(), client.get("/documents/table/").content.decode()):
        assert 'hx-trigger="every 2s"' in page  # the refresh replaces the block holding the forms
        for prefix in ("upload", "url", "paste"):
            assert f'id="{prefix}-{collection.id}" hx-preserve="true"' in page


def test_the_collection_form_inputs_are_labelled_text_fields(organization):
    page = _client(organization, Role.ADMIN).get("/documents/").content.decode()
    assert '<input type="text" name="name"' in page and 'aria-label="Collection name"' in page


def test_the_status_filter_shows_which_filter_is_on_and_ignores_unknown_values(organization, collection):
    DocumentFactory(collection=collection, title="Manual", status=DocumentStatus.READY)
    client = _client(organization, Role.MEMBER)
    failed = client.get("/documents/?status=failed").content.decode()
    assert "<strong>failed</strong>" in failed and "No failed documents." in failed and "Manual" not in failed
    unknown = client.get("/documents/?status=<b>bogus").content.decode()
    assert "Manual" in unknown and "<strong>all</strong>" in unknown and "No &lt;b&gt;bogus" not in unknown


def test_a_text_document_shows_no_pages_row(organization, collection):
    document = DocumentFactory(collection=collection, title="Notes", status=DocumentStatus.READY, page_count=0)
    client = _client(organization, Role.MEMBER)
    page = client.get(f"/documents/{document.id}/").content.decode()
    assert "Notes" in page and "<th>Pages</th>" not in page
    pdf = DocumentFactory(collection=collection, title="Manual", status=DocumentStatus.READY, page_count=3)
    assert "<th>Pages</th>" in client.get(f"/documents/{pdf.id}/").content.decode()  # the row a PDF gets


def test_a_refused_collection_keeps_what_was_typed_and_says_why(organization, collection):
    response = _client(organization, Role.ADMIN).post(
        "/documents/", {"name": collection.name, "description": "Second copy"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "already exists" in page
    assert f'value="{collection.name}"' in page and 'value="Second copy"' in page
    assert Collection.objects.for_org(organization).count() == 1
