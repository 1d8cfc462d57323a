"""The pipeline: documents reach ready with their chunks, bad ones fail with a reason and nothing else
breaks, re-runs are idempotent, transient provider errors are retried, stuck documents are re-queued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.chatbot_provider import offline
from apps.documents.models import Chunk, Document, DocumentStatus
from apps.documents.services import documents as services
from apps.documents.services import pipeline
from apps.documents.tests.fixtures import (
    make_docx,
    make_pdf,
    make_scanned_pdf,
    make_zip_bomb,
)
from apps.organizations.actors import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(collection, user, django_capture_on_commit_callbacks):
    def run(*files: tuple[str, bytes]) -> list[Document]:
        with django_capture_on_commit_callbacks(execute=True):
            results = services.document_create_from_uploads(
                collection=collection,
                actor=Actor.for_user(user).in_organization(collection.organization),
                files=[SimpleUploadedFile(n, c) for n, c in files],
            )
        return [Document.objects.unscoped().get(pk=r.document.pk) for r in results]

    return run


def test_pdf_upload_ends_ready_with_chunks_on_their_pages(upload):
    (document,) = upload(("manual.pdf", make_pdf()))
    assert document.status == DocumentStatus.READY
    assert document.progress == 100
    assert document.page_count == 3
    chunks = list(Chunk.objects.for_org(document.organization).filter(document=document))
    assert document.chunk_count == len(chunks) == 3
    assert {c.page_number for c in chunks} == {1, 2, 3}
    assert next(c for c in chunks if "Laminar" in c.text).page_number == 3
    assert document.token_count == sum(c.token_count for c in chunks)
    assert document.diagnostics["characters_extracted"] > 100


def test_docx_chunks_carry_heading_paths(upload):
    (document,) = upload(("guide.docx", make_docx()))
    headings = list(Chunk.objects.for_org(document.organization).values_list("heading_path", flat=True))
    assert ["Installation", "Requirements"] in headings


def test_chunks_written_in_bulk_keep_their_vectors_headings_and_full_text(upload, collection):
    from apps.documents.models import ChunkTerm
    from apps.documents.services.pipeline import embedding_input
    from apps.documents.services.search import search_chunks

    (document,) = upload(("guide.docx", make_docx()))
    chunks = list(Chunk.objects.for_org(document.organization).filter(document=document).order_by("ordinal"))
    assert [c.ordinal for c in chunks] == list(range(len(chunks))) and chunks
    expected = offline.hashing_embed(
        [embedding_input(title=document.title, heading_path=c.heading_path, text=c.text) for c in chunks],
        dimensions=collection.embedding_dimensions,
    )
    for chunk, vector in zip(chunks, expected, strict=True):
        assert list(chunk.embedding) == pytest.approx(vector, abs=1e-6)  # stored as float4
        assert chunk.search_vector and chunk.created_at == chunk.updated_at
    assert ChunkTerm.objects.filter(chunk_id=chunks[0].pk).exists()
    hits = search_chunks(organization=document.organization_id, query="requirements", collections=[collection])
    assert any(hit.heading == "Installation > Requirements" for hit in hits)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("locked.pdf", make_pdf(password="pw"), "encrypted_pdf"),
        ("scan.pdf", make_scanned_pdf(), "no_extractable_text"),
        ("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50, "corrupt_file"),
        ("bomb.docx", make_zip_bomb(), "archive_too_large"),
    ],
)
def test_bad_file_fails_with_its_reason_and_the_next_document_still_indexes(upload, name, content, code):
    bad, good = upload((name, content), ("notes.txt", b"Good notes about pumps and seals."))
    assert bad.status == DocumentStatus.FAILED
    assert bad.error_code == code
    assert bad.error_message
    assert not Chunk.objects.for_org(bad.organization).filter(document=bad).exists()
    assert good.status == DocumentStatus.READY


def test_running_the_pipeline_twice_gives_the_same_chunks(upload):
    (document,) = upload(("manual.pdf", make_pdf()))
    before = list(Chunk.objects.for_org(document.organization).values_list("ordinal", "text", "page_number"))
    Document.objects.unscoped().filter(pk=document.pk).update(status=DocumentStatus.PROCESSING)
    pipeline.document_index(organization_id=str(document.organization_id), document_id=str(document.pk))
    after = list(Chunk.objects.for_org(document.organization).values_list("ordinal", "text", "page_number"))
    assert after == before
    assert Document.objects.unscoped().get(pk=document.pk).status == DocumentStatus.READY


def test_a_repeated_delivery_for_a_ready_document_changes_nothing(upload):
    (document,) = upload(("manual.pdf", make_pdf()))
    ids = set(Chunk.objects.for_org(document.organization).values_list("id", flat=True))
    assert ids
    pipeline.document_index(organization_id=str(document.organization_id), document_id=str(document.pk))
    assert set(Chunk.objects.for_org(document.organization).values_list("id", flat=True)) == ids


class FlakyProviderError(Exception):
    transient = True


def test_transient_embedding_errors_are_retried_until_ready(upload, monkeypatch):
    calls = {"n": 0}
    real = offline.hashing_embed

    def flaky(texts, *, dimensions):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise FlakyProviderError("503 from provider")
        return real(texts, dimensions=dimensions)

    monkeypatch.setattr(offline, "hashing_embed", flaky)
    (document,) = upload(("notes.txt", b"Text that needs embedding."))
    assert document.status == DocumentStatus.READY
    assert calls["n"] == 3


def test_a_provider_that_keeps_failing_ends_failed_with_a_reason(upload, monkeypatch):
    def down(texts, *, dimensions):
        raise FlakyProviderError("provider down")

    monkeypatch.setattr(offline, "hashing_embed", down)
    (document,) = upload(("notes.txt", b"Text that needs embedding."))
    assert document.status == DocumentStatus.FAILED
    assert document.error_code == "provider_unavailable"


def test_an_unexpected_crash_fails_the_document_not_the_worker(upload, monkeypatch):
    def boom(texts, *, dimensions):
        raise RuntimeError("bug")

    monkeypatch.setattr(offline, "hashing_embed", boom)
    (document,) = upload(("notes.txt", b"Some text."))
    assert document.status == DocumentStatus.FAILED
    assert document.error_code == "internal_error"


def test_a_database_outage_mid_indexing_leaves_the_document_to_its_lease_and_it_is_indexed_after(
    upload, monkeypatch, collection, django_capture_on_commit_callbacks
):
    from django.db import OperationalError

    real_embed = offline.hashing_embed
    outage = {"left": 1}

    def embed_during_an_outage(texts, *, dimensions):
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("terminating connection due to administrator command")
        return real_embed(texts, dimensions=dimensions)

    monkeypatch.setattr(offline, "hashing_embed", embed_during_an_outage)
    with pytest.raises(OperationalError):
        upload(("notes.txt", b"Notes about compressors and their stages."))
    document = Document.objects.for_org(collection.organization).get()
    assert document.status == DocumentStatus.PROCESSING  # not failed: nothing is wrong with the document
    assert document.error_code == ""

    Document.objects.unscoped().filter(pk=document.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.documents_requeue_stuck() == 1
    document.refresh_from_db()
    assert (document.status, document.attempts) == (DocumentStatus.READY, 2)
    assert document.chunk_count == Chunk.objects.for_org(collection.organization).count() >= 1


def test_sweep_requeues_documents_stuck_in_processing(upload, settings, django_capture_on_commit_callbacks):
    (document,) = upload(("notes.txt", b"Stuck notes about compressors."))
    Chunk.objects.for_org(document.organization).all().delete()
    Document.objects.unscoped().filter(pk=document.pk).update(status=DocumentStatus.PROCESSING, attempts=1)
    later = timezone.now() + timedelta(seconds=settings.DOCUMENTS_PROCESSING_STUCK_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.documents_requeue_stuck(now=later) == 1
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    assert document.chunk_count == 1


def test_sweep_gives_up_after_the_last_attempt(upload, settings):
    (document,) = upload(("notes.txt", b"Notes."))
    Document.objects.unscoped().filter(pk=document.pk).update(
        status=DocumentStatus.PROCESSING, attempts=settings.DOCUMENTS_MAX_ATTEMPTS
    )
    later = timezone.now() + timedelta(seconds=settings.DOCUMENTS_PROCESSING_STUCK_SECONDS + 1)
    assert pipeline.documents_requeue_stuck(now=later) == 0
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.error_code == "indexing_abandoned"


def test_sweep_leaves_recent_documents_alone(upload):
    (document,) = upload(("notes.txt", b"Notes."))
    Document.objects.unscoped().filter(pk=document.pk).update(status=DocumentStatus.PROCESSING)
    assert pipeline.documents_requeue_stuck() == 0
    document.refresh_from_db()
    assert (document.status, document.attempts) == (DocumentStatus.PROCESSING, 1)


def test_a_second_delivery_leaves_a_document_held_by_a_live_lease_alone(upload):
    (document,) = upload(("notes.txt", b"Notes about pumps."))
    alive = timezone.now() + timedelta(seconds=60)
    Document.objects.unscoped().filter(pk=document.pk).update(
        status=DocumentStatus.PROCESSING, attempts=1, lease_owner="first-task", lease_expires_at=alive
    )
    pipeline.document_index(
        organization_id=str(document.organization_id), document_id=str(document.pk), lease_owner="second-task"
    )
    document.refresh_from_db()
    assert (document.status, document.attempts, document.lease_owner) == (DocumentStatus.PROCESSING, 1, "first-task")


def test_the_same_claim_may_take_its_document_back(upload):
    (document,) = upload(("notes.txt", b"Notes about pumps."))
    alive = timezone.now() + timedelta(seconds=60)
    Document.objects.unscoped().filter(pk=document.pk).update(
        status=DocumentStatus.PROCESSING, attempts=1, lease_owner="the-task", lease_expires_at=alive
    )
    pipeline.document_index(
        organization_id=str(document.organization_id), document_id=str(document.pk), lease_owner="the-task"
    )
    document.refresh_from_db()
    assert (document.status, document.attempts) == (DocumentStatus.READY, 2)


def test_a_claim_takes_the_document_with_its_collection_and_provider_in_one_statement(
    organization, django_assert_num_queries
):
    from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
    from apps.documents.tests.factories import CollectionFactory, DocumentFactory

    provider = ChatbotProviderFactory(organization=organization, api_key="sk-secret-key", name="Embedder")
    collection = CollectionFactory(organization=organization, embedding_provider=provider)
    document = DocumentFactory(organization=organization, collection=collection, status=DocumentStatus.QUEUED)
    with django_assert_num_queries(1):
        (claimed,) = pipeline._claim(
            organization_id=str(organization.pk), document_ids=[str(document.pk)], lease_owner="the-task"
        )
        assert (claimed.status, claimed.attempts, claimed.lease_owner) == (DocumentStatus.PROCESSING, 1, "the-task")
        assert claimed.collection.embedding_provider.api_key == "sk-secret-key"  # decrypted, as the ORM reads it
        assert claimed.diagnostics == document.diagnostics
    stored = Document.objects.for_org(organization).get(pk=document.pk)
    assert (stored.status, stored.attempts, stored.lease_expires_at) == (
        DocumentStatus.PROCESSING,
        1,
        claimed.lease_expires_at,
    )


def test_a_claim_of_a_document_in_a_collection_without_a_provider_embeds_offline(organization):
    from apps.documents.tests.factories import CollectionFactory, DocumentFactory

    collection = CollectionFactory(organization=organization, embedding_provider=None)
    document = DocumentFactory(organization=organization, collection=collection, status=DocumentStatus.QUEUED)
    (claimed,) = pipeline._claim(organization_id=str(organization.pk), document_ids=[str(document.pk)], lease_owner="t")
    assert claimed.collection == collection
    assert claimed.collection.embedding_provider is None


@pytest.mark.parametrize("status", [DocumentStatus.READY, DocumentStatus.FAILED])
def test_a_claim_leaves_a_finished_document_alone(organization, status):
    from apps.documents.tests.factories import DocumentFactory

    document = DocumentFactory(collection__organization=organization, status=status)
    claimed = pipeline._claim(organization_id=str(organization.pk), document_ids=[str(document.pk)], lease_owner="t")
    assert claimed == []
    assert Document.objects.for_org(organization).get(pk=document.pk).status == status


def test_a_claim_in_another_organization_finds_nothing(organization, other_organization):
    from apps.documents.tests.factories import DocumentFactory

    document = DocumentFactory(collection__organization=organization, status=DocumentStatus.QUEUED)
    claimed = pipeline._claim(
        organization_id=str(other_organization.pk), document_ids=[str(document.pk)], lease_owner="t"
    )
    assert claimed == []
    assert Document.objects.for_org(organization).get(pk=document.pk).status == DocumentStatus.QUEUED


def test_sweep_requeues_a_document_whose_lease_lapsed(upload, django_capture_on_commit_callbacks):
    (document,) = upload(("notes.txt", b"Stuck notes about compressors."))
    Chunk.objects.for_org(document.organization).all().delete()
    lapsed = timezone.now() - timedelta(seconds=1)
    Document.objects.unscoped().filter(pk=document.pk).update(
        status=DocumentStatus.PROCESSING, attempts=1, lease_owner="dead-task", lease_expires_at=lapsed
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.documents_requeue_stuck() == 1
    document.refresh_from_db()
    assert (document.status, document.attempts, document.chunk_count) == (DocumentStatus.READY, 2, 1)


def test_sweep_leaves_a_live_lease_alone_however_long_the_document_takes(upload, settings):
    (document,) = upload(("notes.txt", b"Notes."))
    long_ago = timezone.now() - timedelta(seconds=settings.DOCUMENTS_PROCESSING_STUCK_SECONDS + 60)
    Document.objects.unscoped().filter(pk=document.pk).update(
        status=DocumentStatus.PROCESSING,
        lease_owner="busy-task",
        lease_expires_at=timezone.now() + timedelta(seconds=30),
        updated_at=long_ago,
    )
    assert pipeline.documents_requeue_stuck() == 0
    document.refresh_from_db()
    assert document.status == DocumentStatus.PROCESSING


def test_a_claim_that_lost_its_lease_does_not_write_its_chunks(upload, monkeypatch):
    (document,) = upload(("notes.txt", b"Notes about bearings and seals."))
    Chunk.objects.for_org(document.organization).all().delete()
    Document.objects.unscoped().filter(pk=document.pk).update(status=DocumentStatus.QUEUED, attempts=0)
    real_stage = pipeline._stage

    def taken_over_while_writing(doc, stage, progress):
        real_stage(doc, stage, progress)
        if stage == "writing":  # the sweep re-queued it and another worker claimed it meanwhile
            Document.objects.unscoped().filter(pk=doc.pk).update(lease_owner="another-task")

    monkeypatch.setattr(pipeline, "_stage", taken_over_while_writing)
    pipeline.document_index(organization_id=str(document.organization_id), document_id=str(document.pk))
    document.refresh_from_db()
    assert document.status == DocumentStatus.PROCESSING
    assert document.chunks.count() == 0


def test_one_bad_document_in_a_batch_fails_alone(upload, monkeypatch, collection, settings):
    settings.DOCUMENTS_INDEX_BATCH_SIZE = 4
    real_embed = offline.hashing_embed

    def embed(texts, *, dimensions):
        # A vector the database refuses (pgvector takes no NaN): this document's rows fail the shared COPY.
        return [
            [float("nan")] * dimensions if "poison" in text else vector
            for text, vector in zip(texts, real_embed(texts, dimensions=dimensions), strict=True)
        ]

    monkeypatch.setattr(offline, "hashing_embed", embed)
    first, unreadable, refused, last = upload(
        ("first.txt", b"Notes about pumps and their seals."),
        ("scan.pdf", make_scanned_pdf()),
        ("refused.txt", b"A poison pill among the notes."),
        ("last.txt", b"Notes about bearings and shafts."),
    )

    assert (first.status, last.status) == (DocumentStatus.READY, DocumentStatus.READY)
    assert first.chunk_count == Chunk.objects.for_org(collection.organization).filter(document=first).count() == 1
    assert last.chunk_count == Chunk.objects.for_org(collection.organization).filter(document=last).count() == 1
    assert (unreadable.status, unreadable.error_code) == (DocumentStatus.FAILED, "no_extractable_text")
    assert (refused.status, refused.error_code) == (DocumentStatus.FAILED, "internal_error")
    assert not Chunk.objects.for_org(collection.organization).filter(document__in=[unreadable, refused]).exists()


def test_documents_uploaded_together_are_indexed_in_one_task_and_written_in_one_copy(upload, monkeypatch, settings):
    from apps.documents.services import chunk_write

    settings.DOCUMENTS_INDEX_BATCH_SIZE = 3

    copies: list[int] = []
    real_copy = chunk_write.chunks_copy

    def counted(rows):
        copies.append(len(rows))
        return real_copy(rows)

    monkeypatch.setattr(pipeline, "chunks_copy", counted)
    documents = upload(*[(f"note-{i}.txt", f"Note {i} about pumps and seals.".encode()) for i in range(3)])

    assert [d.status for d in documents] == [DocumentStatus.READY] * 3
    assert [d.attempts for d in documents] == [1, 1, 1]
    assert copies == [3]


def test_a_transient_error_in_a_batch_keeps_what_was_done_and_retries_the_rest(upload, monkeypatch, settings):
    settings.DOCUMENTS_INDEX_BATCH_SIZE = 3
    real_embed = offline.hashing_embed
    failures = {"left": 1}

    def flaky(texts, *, dimensions):
        if any("second" in text for text in texts) and failures["left"]:
            failures["left"] -= 1
            raise FlakyProviderError("503 from provider")
        return real_embed(texts, dimensions=dimensions)

    monkeypatch.setattr(offline, "hashing_embed", flaky)
    first, second, third = upload(
        ("first.txt", b"The first note about pumps."),
        ("second.txt", b"The second note about seals."),
        ("third.txt", b"The third note about bearings."),
    )

    assert [d.status for d in (first, second, third)] == [DocumentStatus.READY] * 3
    assert [d.attempts for d in (first, second, third)] == [1, 2, 2]  # the first was written before the retry


def test_a_batch_leaves_a_document_held_by_a_live_lease_alone_and_indexes_the_others(organization):
    from apps.documents.tests.factories import CollectionFactory

    collection = CollectionFactory(organization=organization)
    actor = Actor.system(organization=organization, label="test")
    held, free = (
        services.document_create_from_text(
            collection=collection, actor=actor, title=title, text=f"{title} notes about pumps."
        ).document
        for title in ("Held", "Free")
    )
    alive = timezone.now() + timedelta(seconds=60)
    Document.objects.unscoped().filter(pk=held.pk).update(
        status=DocumentStatus.PROCESSING, attempts=1, lease_owner="first-task", lease_expires_at=alive
    )

    pipeline.documents_index(
        organization_id=str(organization.pk), document_ids=[str(held.pk), str(free.pk)], lease_owner="batch"
    )

    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.status, held.lease_owner, held.chunk_count) == (DocumentStatus.PROCESSING, "first-task", 0)
    assert (free.status, free.chunk_count) == (DocumentStatus.READY, 1)
