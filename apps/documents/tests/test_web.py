"""The documents pages: collections with counts, a collection's documents (pages, filters, bulk actions, the
add forms), rename and delete, a document with its diagnostics, a cited passage and the original file."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.documents.models import Collection, Document, DocumentStatus
from apps.documents.tests.factories import ChunkFactory, CollectionFactory, DocumentFactory
from apps.documents.tests.fixtures import make_scanned_pdf
from apps.documents.types import DOCX, PDF
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _client(organization, role) -> Client:
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def _collection_page(client, collection, query: str = "") -> str:
    response = client.get(f"/documents/collections/{collection.id}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def _failed(collection, title="Scan"):
    return DocumentFactory(
        collection=collection,
        title=title,
        status=DocumentStatus.FAILED,
        progress=35,
        error_code="no_extractable_text",
        error_message="No text could be extracted; run OCR.",
    )


def test_the_collections_page_counts_documents_and_lists_the_failed_ones(organization, collection):
    DocumentFactory(collection=collection, title="Manual", status=DocumentStatus.READY)
    DocumentFactory(collection=collection, status=DocumentStatus.PROCESSING, progress=40)
    _failed(collection)
    page = _client(organization, Role.MEMBER).get("/documents/").content.decode()
    assert "Handbook" in page
    assert "1 document failed to index" in page and "No text could be extracted; run OCR." in page
    row = page.split(f'href="/documents/collections/{collection.id}/">Handbook</a>', 1)[1].split("</tr>", 1)[0]
    assert [cell.split("<", 1)[0] for cell in row.split('<td class="num">')[1:4]] == ["3", "1", "1"]
    assert "New collection" not in page  # members cannot create collections


def test_a_member_sees_the_documents_but_no_forms_to_change_them(organization, collection):
    DocumentFactory(collection=collection, title="Manual")
    member = _collection_page(_client(organization, Role.MEMBER), collection)
    assert "Manual" in member
    assert "Upload" not in member and "Delete selected" not in member and "Collection settings" not in member
    admin = _collection_page(_client(organization, Role.ADMIN), collection)
    assert "Upload" in admin and "Import URL" in admin and "Paste text" in admin and "Delete selected" in admin


def test_a_failed_document_shows_its_failure_not_a_percentage(organization, collection):
    _failed(collection)
    page = _collection_page(_client(organization, Role.MEMBER), collection)
    assert "No text could be extracted; run OCR." in page
    assert "35%" not in page and "<progress" not in page


def test_types_have_names_people_know(organization, collection):
    DocumentFactory(collection=collection, title="Contract", mime_type=DOCX)
    DocumentFactory(collection=collection, title="Manual", mime_type=PDF)
    page = _collection_page(_client(organization, Role.MEMBER), collection)
    assert "Word document" in page and "<td>PDF</td>" in page
    assert DOCX not in page


def test_documents_come_fifty_to_a_page(organization, collection):
    for n in range(120):
        DocumentFactory(collection=collection, title=f"Note {n:03}")
    client = _client(organization, Role.MEMBER)
    first = _collection_page(client, collection)
    assert "120 documents" in first and "Page 1 of 3" in first
    assert first.count('name="documents"') == 0  # a member has no bulk selection
    assert first.count("Note ") == 50
    last = _collection_page(client, collection, "?page=3")
    assert last.count("Note ") == 20 and "Note 000" in last  # the oldest last


def test_the_filters_narrow_by_title_status_and_type_and_ignore_unknown_values(organization, collection):
    DocumentFactory(collection=collection, title="Travel policy", mime_type=PDF)
    DocumentFactory(collection=collection, title="Expense policy", mime_type=DOCX)
    _failed(collection, title="Travel scan")
    client = _client(organization, Role.MEMBER)
    by_title = _collection_page(client, collection, "?q=travel")
    assert "Travel policy" in by_title and "Travel scan" in by_title and "Expense policy" not in by_title
    by_status = _collection_page(client, collection, "?q=travel&status=failed")
    assert "Travel scan" in by_status and "Travel policy" not in by_status
    assert '<option value="failed" selected>' in by_status
    by_type = _collection_page(client, collection, "?type=docx")
    assert "Expense policy" in by_type and "Travel policy" not in by_type
    unknown = _collection_page(client, collection, "?status=<b>bogus&type=exe")
    assert "Travel policy" in unknown and "Expense policy" in unknown and "&lt;b&gt;" not in unknown


def test_the_documents_table_refreshes_while_indexing_and_the_add_forms_stay_outside_it(organization, collection):
    DocumentFactory(collection=collection, status=DocumentStatus.PROCESSING, progress=40)
    client = _client(organization, Role.ADMIN)
    page = _collection_page(client, collection)
    table = client.get(f"/documents/collections/{collection.id}/table/").content.decode()
    assert 'hx-trigger="every 2s"' in page and 'hx-trigger="every 2s"' in table
    assert 'id="upload-form"' in page and 'id="upload-form"' not in table
    assert 'hx-preserve="true"' in table  # ticked boxes survive the refresh


def test_admin_uploads_through_the_form_and_sees_the_failure_explained(
    organization, collection, django_capture_on_commit_callbacks
):
    client = _client(organization, Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/documents/collections/{collection.id}/add/",
            {"kind": "upload", "files": [SimpleUploadedFile("scan.pdf", make_scanned_pdf())]},
        )
    assert response.status_code == 302 and response["Location"] == f"/documents/collections/{collection.id}/"
    document = Document.objects.unscoped().get()
    assert document.status == DocumentStatus.FAILED
    detail = client.get(f"/documents/{document.id}/").content.decode()
    assert "no_extractable_text" in detail and "OCR" in detail


def test_admin_creates_a_collection_lands_on_it_and_adds_text(organization, django_capture_on_commit_callbacks):
    client = _client(organization, Role.ADMIN)
    response = client.post("/documents/", {"name": "Policies"})
    collection = Collection.objects.for_org(organization).get(name="Policies")
    assert response["Location"] == f"/documents/collections/{collection.id}/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/documents/collections/{collection.id}/add/",
            {"kind": "text", "title": "Refunds", "text": "Refunds within 14 days."},
        )
    assert Document.objects.for_org(organization).get().status == DocumentStatus.READY


def test_admin_renames_and_deletes_a_collection(organization, collection):
    DocumentFactory(collection=collection)
    client = _client(organization, Role.ADMIN)
    client.post(f"/documents/collections/{collection.id}/rename/", {"name": "Staff handbook", "description": "HR"})
    collection.refresh_from_db()
    assert (collection.name, collection.description) == ("Staff handbook", "HR")
    response = client.post(f"/documents/collections/{collection.id}/delete/")
    assert response.status_code == 302 and response["Location"] == "/documents/"
    assert not Collection.objects.for_org(organization).exists()
    assert not Document.objects.for_org(organization).exists()


def test_a_member_cannot_rename_or_delete_a_collection(organization, collection):
    client = _client(organization, Role.MEMBER)
    assert client.post(f"/documents/collections/{collection.id}/rename/", {"name": "X"}).status_code == 403
    assert client.post(f"/documents/collections/{collection.id}/delete/").status_code == 403
    collection.refresh_from_db()
    assert collection.name == "Handbook"


def test_bulk_reindex_and_delete_touch_only_the_selected_documents_of_this_collection(
    organization, collection, other_organization
):
    keep, reindex, delete = (DocumentFactory(collection=collection, title=t) for t in ("Keep", "Again", "Gone"))
    elsewhere = DocumentFactory(collection=CollectionFactory(organization=organization, name="Other"))
    foreign = DocumentFactory(collection=CollectionFactory(organization=other_organization))
    client = _client(organization, Role.ADMIN)
    url = f"/documents/collections/{collection.id}/bulk/"
    client.post(url, {"action": "reindex", "documents": [str(reindex.id), "not-an-id"]})
    reindex.refresh_from_db()
    keep.refresh_from_db()
    assert reindex.status == DocumentStatus.QUEUED and keep.status == DocumentStatus.READY
    response = client.post(url, {"action": "delete", "documents": [str(delete.id), str(elsewhere.id), str(foreign.id)]})
    assert response.status_code == 302
    assert not Document.objects.for_org(organization).filter(pk=delete.pk).exists()
    assert Document.objects.for_org(organization).filter(pk=elsewhere.pk).exists()
    assert Document.objects.unscoped().filter(pk=foreign.pk).exists()
    page = client.get(response["Location"]).content.decode()
    assert "1 document deleted." in page


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


def test_another_organizations_documents_and_collections_are_not_found(organization, other_organization):
    foreign_collection = CollectionFactory(organization=other_organization)
    foreign = DocumentFactory(collection=foreign_collection)
    client = _client(organization, Role.ADMIN)
    assert client.get(f"/documents/{foreign.id}/").status_code == 404
    assert client.get(f"/documents/{foreign.id}/file").status_code == 404
    assert client.get(f"/documents/collections/{foreign_collection.id}/").status_code == 404


def test_anonymous_visitors_are_sent_to_login():
    response = Client().get("/documents/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_collection_form_inputs_are_labelled_text_fields(organization):
    page = _client(organization, Role.ADMIN).get("/documents/").content.decode()
    assert '<label for="new-collection-name">Name</label>' in page and 'id="new-collection-name"' in page


def test_a_text_document_shows_no_pages_row(organization, collection):
    document = DocumentFactory(collection=collection, title="Notes", status=DocumentStatus.READY, page_count=0)
    client = _client(organization, Role.MEMBER)
    page = client.get(f"/documents/{document.id}/").content.decode()
    assert "Notes" in page and "<th>Pages</th>" not in page
    pdf = DocumentFactory(collection=collection, title="Manual", status=DocumentStatus.READY, page_count=3)
    assert "<th>Pages</th>" in client.get(f"/documents/{pdf.id}/").content.decode()  # the row a PDF gets


def test_a_cited_passage_opens_on_its_document_page_with_the_pdf_at_its_page(organization, collection):
    document = DocumentFactory(collection=collection, title="Manual", mime_type=PDF, page_count=9)
    document.file.save("manual.pdf", ContentFile(b"%PDF-1.4 stand-in"), save=True)
    chunk = ChunkFactory(document=document, text="Vacation requests go to the team lead.", page_number=7)
    client = _client(organization, Role.MEMBER)
    page = client.get(f"/documents/{document.id}/?chunk={chunk.id}").content.decode()
    assert "The cited passage, page 7" in page and "Vacation requests go to the team lead." in page
    assert f'href="/documents/{document.id}/file#page=7"' in page
    assert "The cited passage" not in client.get(f"/documents/{document.id}/?chunk=nonsense").content.decode()
    original = client.get(f"/documents/{document.id}/file")
    assert original.status_code == 200 and original["Content-Type"] == PDF
    assert original["Content-Disposition"].startswith("inline")
    assert b"".join(original.streaming_content) == b"%PDF-1.4 stand-in"


def test_an_original_that_is_not_a_pdf_downloads_instead_of_opening(organization, collection):
    document = DocumentFactory(collection=collection, title="Page", mime_type="text/html", original_filename="p.html")
    document.file.save("p.html", ContentFile(b"<script>alert(1)</script>"), save=True)
    response = _client(organization, Role.MEMBER).get(f"/documents/{document.id}/file")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream" and response["X-Content-Type-Options"] == "nosniff"


def test_a_refused_collection_keeps_what_was_typed_and_says_why(organization, collection):
    response = _client(organization, Role.ADMIN).post(
        "/documents/", {"name": collection.name, "description": "Second copy"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "already exists" in page
    assert f'value="{collection.name}"' in page and 'value="Second copy"' in page
    assert Collection.objects.for_org(organization).count() == 1
