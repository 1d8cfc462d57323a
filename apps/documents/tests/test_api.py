"""The documents API as a client sees it: collections, uploads, URL and text imports, diagnostics, reindex,
delete, chunks, roles, limits and quotas."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.documents.models import Chunk, Collection, Document, DocumentStatus
from apps.documents.tests.factories import CollectionFactory, DocumentFactory
from apps.documents.tests.fixtures import BOILERPLATE_HTML, make_pdf, make_scanned_pdf
from apps.organizations.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the indexing task the request enqueued (eagerly, as a worker would)."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def _upload(client, collection, *files, field="files"):
    return client.post(
        f"/api/v1/collections/{collection.id}/documents",
        {field: [SimpleUploadedFile(name, content) for name, content in files]},
        format="multipart",
    )


# --- collections -----------------------------------------------------------------------------------


def test_admin_creates_a_collection_with_the_deployment_embedding(admin_client, settings):
    response = admin_client.post("/api/v1/collections", {"name": "Manuals", "description": "Product manuals"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["embedding_model"] == "offline-hash-v1"
    assert body["embedding_dimensions"] == settings.EMBEDDING_DIMENSIONS
    assert AuditEvent.objects.unscoped().filter(action="collection.created").exists()


def test_a_collection_of_another_dimension_is_refused_clearly(admin_client, settings):
    response = admin_client.post("/api/v1/collections", {"name": "Big", "embedding_dimensions": 3072})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "embedding_dimension_mismatch"
    assert str(settings.EMBEDDING_DIMENSIONS) in response.json()["error"]["message"]


def test_a_provider_whose_model_cannot_produce_the_deployment_dimension_is_refused_with_400(
    admin_client, organization, settings
):
    from apps.chatbot_provider.models import ProviderKind
    from apps.chatbot_provider.tests.factories import ChatbotProviderFactory

    settings.EMBEDDING_DIMENSIONS = 768
    provider = ChatbotProviderFactory(
        organization=organization, kind=ProviderKind.OPENAI, default_embedding_model="text-embedding-3-small"
    )
    refused = admin_client.post(
        "/api/v1/collections",
        {"name": "Ada", "embedding_provider_id": str(provider.pk), "embedding_model": "text-embedding-ada-002"},
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "embedding_model_unsupported"
    assert error["details"] == {
        "embedding_model": "text-embedding-ada-002",
        "provider_kind": "openai",
        "deployment_dimensions": 768,
    }
    accepted = admin_client.post("/api/v1/collections", {"name": "Small", "embedding_provider_id": str(provider.pk)})
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["embedding_model"] == "text-embedding-3-small"


def test_duplicate_collection_name_is_a_conflict(admin_client, collection):
    response = admin_client.post("/api/v1/collections", {"name": collection.name})
    assert response.status_code == 409
    assert Collection.objects.unscoped().filter(name=collection.name).count() == 1


def test_member_lists_but_cannot_create_collections(member_client, collection):
    assert member_client.get("/api/v1/collections").json()["results"][0]["name"] == collection.name
    assert member_client.post("/api/v1/collections", {"name": "X"}).status_code == 403


def test_collection_rename_and_delete(admin_client, collection):
    response = admin_client.patch(f"/api/v1/collections/{collection.id}", {"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    collection.refresh_from_db()
    assert collection.name == "Renamed"
    assert admin_client.delete(f"/api/v1/collections/{collection.id}").status_code == 204
    assert not Collection.objects.unscoped().filter(pk=collection.pk).exists()


def test_another_organizations_collection_is_not_found(admin_client, other_organization):
    foreign = CollectionFactory(organization=other_organization)
    assert admin_client.get(f"/api/v1/collections/{foreign.id}").status_code == 404
    assert _upload(admin_client, foreign, ("a.txt", b"hello")).status_code == 404


# --- uploads -----------------------------------------------------------------------------------------


def test_uploading_several_files_returns_202_and_they_become_ready(admin_client, collection, run_on_commit):
    response = run_on_commit(
        lambda: _upload(admin_client, collection, ("manual.pdf", make_pdf()), ("notes.md", b"# Notes\n\nPumps."))
    )
    assert response.status_code == 202, response.json()
    documents = response.json()["documents"]
    assert [d["mime_type"] for d in documents] == ["application/pdf", "text/markdown"]
    assert all(d["status"] == "queued" and d["duplicate"] is False for d in documents)
    stored = Document.objects.unscoped().get(pk=documents[0]["id"])
    assert stored.status == DocumentStatus.READY
    assert stored.title == "manual"
    assert "manual" not in stored.file.name  # stored names are generated


def test_each_uploaded_document_is_in_the_audit_log_once_with_its_title_and_size(admin_client, collection):
    response = _upload(admin_client, collection, ("a.txt", b"Some text."), ("b.txt", b"Other text!"))
    again = _upload(admin_client, collection, ("a-again.txt", b"Some text."))  # the same content: no new document
    assert response.status_code == again.status_code == 202
    ids = [d["id"] for d in response.json()["documents"]]
    events = AuditEvent.objects.for_org(collection.organization).filter(action="document.created").order_by("data")
    assert [(e.target_id, e.target_type, e.data) for e in events] == [
        (ids[0], "document", {"title": "a", "source": "upload", "bytes": 10}),
        (ids[1], "document", {"title": "b", "source": "upload", "bytes": 11}),
    ]
    assert all(e.actor_id is not None and e.actor_kind == "user" for e in events)


def test_single_file_field_works_too(admin_client, collection):
    response = _upload(admin_client, collection, ("a.txt", b"Some text."), field="file")
    assert response.status_code == 202
    assert [d["title"] for d in response.json()["documents"]] == ["a"]
    assert Document.objects.for_org(collection.organization).get().title == "a"


def test_reuploading_identical_content_returns_the_existing_document(admin_client, collection, run_on_commit):
    first = run_on_commit(lambda: _upload(admin_client, collection, ("a.pdf", make_pdf())))
    second = _upload(admin_client, collection, ("copy-of-a.pdf", make_pdf()))
    assert second.status_code == 202
    assert second.json()["documents"][0]["id"] == first.json()["documents"][0]["id"]
    assert second.json()["documents"][0]["duplicate"] is True
    assert Document.objects.for_org(collection.organization).count() == 1


def test_file_over_the_limit_is_refused_with_413_before_storing(admin_client, collection, settings):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 1000
    response = _upload(admin_client, collection, ("big.txt", b"a" * 1001))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "document_too_large"
    assert not Document.objects.unscoped().exists()


class _UnreadableBody:
    """A request body that must not be read: the size is refused from the declared length alone."""

    def read(self, *args, **kwargs):
        raise AssertionError("the request body was read")

    readline = read


def test_a_request_declaring_more_than_the_upload_limits_is_refused_with_413_unread(admin_client, collection, settings):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 1000
    settings.DOCUMENTS_MAX_FILES_PER_UPLOAD = 2
    response = admin_client.generic(
        "POST",
        f"/api/v1/collections/{collection.id}/documents",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(10_000_000),
        **{"wsgi.input": _UnreadableBody()},
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "request_too_large"
    assert error["details"]["max_files"] == 2
    assert error["details"]["max_file_bytes"] == 1000
    assert not Document.objects.unscoped().exists()


def test_a_request_within_the_declared_limit_is_read(admin_client, collection, settings):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 1000
    settings.DOCUMENTS_MAX_FILES_PER_UPLOAD = 2
    response = _upload(admin_client, collection, ("a.txt", b"a" * 1000), ("b.txt", b"b" * 1000))
    assert response.status_code == 202, response.json()
    assert sorted(Document.objects.for_org(collection.organization).values_list("size_bytes", flat=True)) == [
        1000,
        1000,
    ]


def test_more_files_than_allowed_in_one_request_are_refused_and_none_stored(admin_client, collection, settings):
    settings.DOCUMENTS_MAX_FILES_PER_UPLOAD = 2
    response = _upload(admin_client, collection, ("a.txt", b"one"), ("b.txt", b"two"), ("c.txt", b"three"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_many_files"
    assert error["details"] == {"files": 3, "max_files": 2}
    assert not Document.objects.unscoped().exists()


def test_a_large_upload_spooled_to_disk_is_stored_whole_with_its_hash(admin_client, collection, settings):
    import hashlib
    import io
    import zipfile

    from apps.documents.tests.fixtures import make_docx

    buffer = io.BytesIO(make_docx())
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_STORED) as archive:
        # over the in-memory size: Django spools the upload to a temporary file
        archive.writestr("word/media/padding.bin", b"x" * (settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 1))
    docx = buffer.getvalue()
    response = _upload(admin_client, collection, ("big.docx", docx))
    assert response.status_code == 202, response.json()
    stored = Document.objects.unscoped().get(pk=response.json()["documents"][0]["id"])
    assert stored.mime_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert stored.size_bytes == len(docx)
    assert stored.sha256 == hashlib.sha256(docx).hexdigest()
    with stored.file.open("rb") as handle:
        assert handle.read() == docx


def test_a_bad_file_after_good_ones_stores_nothing(admin_client, collection):
    response = _upload(admin_client, collection, ("a.txt", b"fine"), ("b.pdf", b"not a pdf"))
    assert response.status_code == 415
    assert not Document.objects.unscoped().exists()
    assert not default_storage.exists(f"documents/{collection.organization_id}/{collection.id}")


def test_unknown_binary_is_refused_with_415(admin_client, collection):
    response = _upload(admin_client, collection, ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8))
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_type"


def test_a_text_file_posing_as_pdf_is_refused_with_415(admin_client, collection):
    response = _upload(admin_client, collection, ("report.pdf", b"I am not a PDF at all."))
    assert response.status_code == 415
    assert response.json()["error"]["details"]["declared"] == "application/pdf"


def test_member_cannot_upload(member_client, collection):
    assert _upload(member_client, collection, ("a.txt", b"text")).status_code == 403
    assert not Document.objects.unscoped().exists()


def test_document_count_quota(admin_client, collection, organization):
    organization.max_documents = 1
    organization.save()
    assert _upload(admin_client, collection, ("a.txt", b"first")).status_code == 202
    response = _upload(admin_client, collection, ("b.txt", b"second"))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "document_quota_exceeded"


def test_byte_quota(admin_client, collection, settings):
    settings.DOCUMENTS_MAX_BYTES_PER_ORG = 10
    response = _upload(admin_client, collection, ("a.txt", b"more than ten bytes"))
    assert response.status_code == 429
    assert response.json()["error"]["details"]["limit_bytes"] == 10


# --- text and URL ------------------------------------------------------------------------------------


def test_pasted_text_is_indexed(admin_client, collection, run_on_commit):
    response = run_on_commit(
        lambda: admin_client.post(
            f"/api/v1/collections/{collection.id}/documents/text",
            {"title": "Policy", "text": "Refunds are issued within 14 days."},
        )
    )
    assert response.status_code == 202
    document = Document.objects.unscoped().get(pk=response.json()["id"])
    assert document.status == DocumentStatus.READY
    assert document.title == "Policy"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        routes = {
            "/page.html": (200, "text/html", BOILERPLATE_HTML.encode()),
            "/manual.pdf": (200, "application/pdf", make_pdf()),
            "/image.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8),
        }
        if self.path == "/redirect-to-page":
            self.send_response(302)
            self.send_header("Location", "/page.html")
            self.end_headers()
        elif self.path == "/redirect-to-private":
            self.send_response(302)
            self.send_header("Location", "http://10.1.2.3/secret")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(2)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"late")
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"x" * 10_000)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif self.path in routes:
            code, kind, body = routes[self.path]
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.end_headers()


@pytest.fixture
def web_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _import(client, collection, url, run_on_commit):
    response = run_on_commit(lambda: client.post(f"/api/v1/collections/{collection.id}/documents/url", {"url": url}))
    assert response.status_code == 202, response.json()
    return Document.objects.unscoped().get(pk=response.json()["id"])


def test_url_import_of_a_page_keeps_its_readable_text_and_title(admin_client, collection, web_server, run_on_commit):
    document = _import(admin_client, collection, f"{web_server}/redirect-to-page", run_on_commit)
    assert document.status == DocumentStatus.READY, document.error_message
    assert document.title == "Pump maintenance guide"
    assert document.mime_type == "text/html"
    text = " ".join(Chunk.objects.for_org(document.organization).values_list("text", flat=True))
    assert "impeller" in text and "NAVIGATIONMENU" not in text


def test_url_import_of_a_pdf(admin_client, collection, web_server, run_on_commit):
    document = _import(admin_client, collection, f"{web_server}/manual.pdf", run_on_commit)
    assert document.status == DocumentStatus.READY
    assert document.page_count == 3


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/slow", "url_timeout"),
        ("/huge", "url_too_large"),
        ("/image.png", "unsupported_type"),
        ("/missing", "url_fetch_failed"),
        ("/redirect-to-private", "url_blocked"),
    ],
)
def test_url_import_failures_end_failed_with_a_reason(
    admin_client, collection, web_server, run_on_commit, settings, path, code
):
    settings.URL_FETCH_TIMEOUT_SECONDS = 1
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 100_000
    document = _import(admin_client, collection, f"{web_server}{path}", run_on_commit)
    assert document.status == DocumentStatus.FAILED
    assert document.error_code == code
    detail = admin_client.get(f"/api/v1/documents/{document.id}").json()
    assert detail["diagnostics"]["failure"]["code"] == code
    assert detail["diagnostics"]["failure"]["stage"] == "fetching"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.8/", "http://[::1]/"],
)
def test_url_import_refuses_loopback_private_and_link_local_addresses(
    admin_client, collection, run_on_commit, settings, url
):
    settings.URL_FETCH_ALLOW_LOOPBACK = False
    document = _import(admin_client, collection, url, run_on_commit)
    assert document.status == DocumentStatus.FAILED
    assert document.error_code == "url_blocked"


def test_url_import_over_the_byte_quota_fails_with_the_quota_reason(
    admin_client, collection, web_server, run_on_commit, settings
):
    settings.DOCUMENTS_MAX_BYTES_PER_ORG = 100
    document = _import(admin_client, collection, f"{web_server}/page.html", run_on_commit)
    assert document.status == DocumentStatus.FAILED
    assert document.error_code == "document_quota_exceeded"


def test_a_host_name_resolving_to_loopback_is_refused(admin_client, collection, web_server, run_on_commit, settings):
    settings.URL_FETCH_ALLOW_LOOPBACK = False
    port = web_server.rsplit(":", 1)[1]
    document = _import(admin_client, collection, f"http://localhost:{port}/page.html", run_on_commit)
    assert document.status == DocumentStatus.FAILED
    assert document.error_code == "url_blocked"
    assert "localhost" in document.error_message


def test_url_with_another_scheme_is_invalid(admin_client, collection):
    response = admin_client.post(
        f"/api/v1/collections/{collection.id}/documents/url", {"url": "ftp://example.com/file.txt"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "url_invalid"
    assert not Document.objects.unscoped().exists()


# --- documents -----------------------------------------------------------------------------------------


def test_list_filters_by_status(member_client, collection):
    DocumentFactory(collection=collection, status=DocumentStatus.READY)
    DocumentFactory(collection=collection, status=DocumentStatus.FAILED)
    response = member_client.get(f"/api/v1/collections/{collection.id}/documents?status=failed")
    assert [d["status"] for d in response.json()["results"]] == ["failed"]
    assert member_client.get(f"/api/v1/collections/{collection.id}/documents?status=bogus").status_code == 400


def test_the_organization_wide_list_shows_every_collections_documents_newest_first(member_client, organization):
    manuals, faqs = CollectionFactory(organization=organization), CollectionFactory(organization=organization)
    older = DocumentFactory(collection=manuals, status=DocumentStatus.READY)
    newer = DocumentFactory(collection=faqs, status=DocumentStatus.FAILED)
    response = member_client.get("/api/v1/documents")
    assert response.status_code == 200, response.json()
    assert [d["id"] for d in response.json()["results"]] == [str(newer.pk), str(older.pk)]
    assert [d["id"] for d in member_client.get("/api/v1/documents?status=ready").json()["results"]] == [str(older.pk)]
    by_collection = member_client.get(f"/api/v1/documents?collection={faqs.pk}").json()["results"]
    assert [d["id"] for d in by_collection] == [str(newer.pk)]


def test_the_organization_wide_list_refuses_a_bad_filter(member_client, other_organization):
    assert member_client.get("/api/v1/documents?status=bogus").status_code == 400
    assert member_client.get("/api/v1/documents?collection=not-a-uuid").status_code == 400
    foreign = CollectionFactory(organization=other_organization)
    DocumentFactory(collection=foreign)
    assert member_client.get(f"/api/v1/documents?collection={foreign.pk}").status_code == 404


def test_the_organization_wide_list_pages_with_a_cursor(member_client, collection):
    for _ in range(3):
        DocumentFactory(collection=collection)
    first = member_client.get("/api/v1/documents?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = member_client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_detail_shows_diagnostics_of_a_ready_pdf(admin_client, collection, run_on_commit):
    response = run_on_commit(lambda: _upload(admin_client, collection, ("manual.pdf", make_pdf())))
    detail = admin_client.get(f"/api/v1/documents/{response.json()['documents'][0]['id']}").json()
    diagnostics = detail["diagnostics"]
    assert diagnostics["pages_parsed"] == 3
    assert diagnostics["empty_pages"] == []
    assert diagnostics["characters_extracted"] > 100
    assert diagnostics["chunk_count"] == 3
    assert diagnostics["sample_chunks"][0]["page"] == 1
    assert diagnostics["failure"] is None


def test_detail_of_a_scanned_pdf_explains_the_failure(admin_client, collection, run_on_commit):
    response = run_on_commit(lambda: _upload(admin_client, collection, ("scan.pdf", make_scanned_pdf())))
    detail = admin_client.get(f"/api/v1/documents/{response.json()['documents'][0]['id']}").json()
    assert detail["status"] == "failed"
    assert detail["diagnostics"]["failure"]["code"] == "no_extractable_text"
    assert "OCR" in detail["diagnostics"]["failure"]["message"]


def test_reindex_rebuilds_the_chunks(admin_client, collection, run_on_commit):
    response = run_on_commit(lambda: _upload(admin_client, collection, ("manual.pdf", make_pdf())))
    document_id = response.json()["documents"][0]["id"]
    old = set(Chunk.objects.unscoped().values_list("id", flat=True))
    reindexed = run_on_commit(lambda: admin_client.post(f"/api/v1/documents/{document_id}/reindex"))
    assert reindexed.status_code == 202
    document = Document.objects.unscoped().get(pk=document_id)
    assert document.status == DocumentStatus.READY
    new = set(Chunk.objects.unscoped().values_list("id", flat=True))
    assert len(new) == 3 and not (old & new)


def test_delete_removes_the_file_and_the_chunks(admin_client, collection, run_on_commit):
    response = run_on_commit(lambda: _upload(admin_client, collection, ("manual.pdf", make_pdf())))
    document = Document.objects.unscoped().get(pk=response.json()["documents"][0]["id"])
    name = document.file.name
    assert default_storage.exists(name)
    assert run_on_commit(lambda: admin_client.delete(f"/api/v1/documents/{document.id}")).status_code == 204
    assert not Chunk.objects.unscoped().exists()
    assert not default_storage.exists(name)


def test_chunks_are_listed_in_order_with_pages(member_client, admin_client, collection, run_on_commit):
    response = run_on_commit(lambda: _upload(admin_client, collection, ("manual.pdf", make_pdf())))
    chunks = member_client.get(f"/api/v1/documents/{response.json()['documents'][0]['id']}/chunks").json()
    assert [(c["ordinal"], c["page"]) for c in chunks["results"]] == [(0, 1), (1, 2), (2, 3)]
    assert "page_number" not in chunks["results"][0]  # a page is `page` in every response


def test_another_organizations_document_is_not_found(admin_client, other_organization):
    foreign = DocumentFactory(collection=CollectionFactory(organization=other_organization))
    for url in (f"/api/v1/documents/{foreign.id}", f"/api/v1/documents/{foreign.id}/chunks"):
        assert admin_client.get(url).status_code == 404
    assert admin_client.post(f"/api/v1/documents/{foreign.id}/reindex").status_code == 404
    assert admin_client.delete(f"/api/v1/documents/{foreign.id}").status_code == 404
    assert Document.objects.unscoped().filter(pk=foreign.pk).exists()


def test_member_cannot_delete_or_reindex(member_client, collection):
    document = DocumentFactory(collection=collection)
    assert member_client.delete(f"/api/v1/documents/{document.id}").status_code == 403
    assert member_client.post(f"/api/v1/documents/{document.id}/reindex").status_code == 403
    assert Document.objects.unscoped().filter(pk=document.pk).exists()


def test_owner_can_do_what_admin_can(make_member_client, organization, collection):
    client = make_member_client(organization, Role.OWNER)
    assert _upload(client, collection, ("a.txt", b"owner text")).status_code == 202


LEGACY_TEXT = {
    "latin-1": "Café crème brûlée: le déjeuner coûte 12 francs à Zürich.\nÉté à l'hôtel, naïve façade, Grüße.\n",
    "cp1252": (
        "The \u201cquoted\u201d price \u2013 5 \u20ac, it\u2019s on the invoice.\n"
        "Second line: naïve café, Œuvre, Straße.\n"
    ),
}


@pytest.mark.parametrize("encoding", sorted(LEGACY_TEXT))
@pytest.mark.parametrize("name", ["notes.txt", "notes.md"])
def test_a_text_file_in_a_legacy_encoding_is_indexed_with_its_text(
    admin_client, collection, run_on_commit, encoding, name
):
    text = LEGACY_TEXT[encoding]
    content = ("# Menü du café\n\n" + text) if name.endswith(".md") else text
    response = run_on_commit(lambda: _upload(admin_client, collection, (name, content.encode(encoding))))
    assert response.status_code == 202, response.json()
    document = Document.objects.unscoped().get(pk=response.json()["documents"][0]["id"])
    assert document.status == DocumentStatus.READY, document.error_message
    chunks = list(Chunk.objects.for_org(document.organization).filter(document=document))
    assert " ".join(" ".join(c.text for c in chunks).split()) == " ".join(text.split())
    if name.endswith(".md"):
        assert document.mime_type == "text/markdown"
        assert chunks[0].heading_path == ["Menü du café"]


def test_a_csv_file_in_windows_1252_is_indexed_with_its_text(admin_client, collection, run_on_commit):
    csv = "city,dish\nZürich,Rösti\nLyon,Quenelle à la crème\n".encode("cp1252")
    response = run_on_commit(lambda: _upload(admin_client, collection, ("dishes.csv", csv)))
    document = Document.objects.unscoped().get(pk=response.json()["documents"][0]["id"])
    assert document.status == DocumentStatus.READY, document.error_message
    stored = " ".join(Chunk.objects.for_org(document.organization).values_list("text", flat=True))
    assert "city: Zürich; dish: Rösti" in stored and "Quenelle à la crème" in stored


@pytest.mark.parametrize(
    "content",
    [
        random.Random(7).randbytes(4096),
        b"\x00\x01\x02\x03binary header\x00\x00" + bytes(range(256)) * 4,
        b"\x7fELF\x02\x01\x01" + bytes(500),
    ],
)
def test_binary_content_is_still_refused_with_415(admin_client, collection, content):
    response = _upload(admin_client, collection, ("data.txt", content))
    assert response.status_code == 415, response.json()
    assert response.json()["error"]["code"] == "unsupported_type"
    assert not Document.objects.unscoped().exists()


def test_a_document_without_a_source_url_shows_null_not_an_empty_uri(admin_client, collection):
    pasted = DocumentFactory(collection=collection, source_url="")
    imported = DocumentFactory(collection=collection, source="url", source_url="https://example.com/handbook")
    assert admin_client.get(f"/api/v1/documents/{pasted.id}").json()["source_url"] is None
    listed = {d["id"]: d["source_url"] for d in admin_client.get("/api/v1/documents").json()["results"]}
    assert listed == {str(pasted.id): None, str(imported.id): "https://example.com/handbook"}
