"""Full-text retrieval is BM25 over the tenant's scope: its ranking and scores equal a BM25 computed
independently from the chunks' lexemes; document frequencies count only the organization's chosen
collections; the statistics the database keeps follow every write and delete of chunks (indexing, delete,
reindex, failure) and equal a rebuild from scratch, which is also how the migration fills them for chunks
that existed before."""

from __future__ import annotations

import math
import os
import random
from collections import Counter

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.documents.models import Chunk, ChunkTerm, CollectionTerm, CollectionTextStats, Document
from apps.documents.services import documents as document_services
from apps.documents.services.pipeline import document_mark_failed
from apps.documents.services.search import search
from apps.documents.tests.factories import ChunkFactory, CollectionFactory, DocumentFactory
from apps.organizations.actors import Actor
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

WORDS = ("flutter wing shock plate heat boundary layer nozzle pressure panel cone jet vortex drag lift").split()  # noqa: SIM905


def _corpus(collection, *, documents: int = 12, seed: int = 3) -> list[Document]:
    rng = random.Random(seed)
    made = []
    for d in range(documents):
        document = DocumentFactory(collection=collection)
        for ordinal in range(3):
            words = [rng.choice(WORDS) for _ in range(rng.randint(3, 25))]
            ChunkFactory(document=document, ordinal=ordinal, text=" ".join(words) + f" note{d}x{ordinal}.")
        made.append(document)
    return made


def _reference_bm25(organization, collection_ids, query: str, k1: float = 1.2, b: float = 0.75) -> dict:
    """BM25 (Lucene's idf) over every chunk in scope, from the chunks' own search_vector."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, u.lexeme, cardinality(u.positions) FROM documents_chunk c, unnest(c.search_vector) u "
            "WHERE c.organization_id = %s AND c.collection_id = ANY(%s)",
            [str(organization.pk), list(collection_ids)],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT id FROM documents_chunk WHERE organization_id = %s AND collection_id = ANY(%s)",
            [str(organization.pk), list(collection_ids)],
        )
        chunk_ids = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT tsvector_to_array(to_tsvector('english', %s))", [query])
        terms = cursor.fetchone()[0]
    tf: dict = {c: Counter() for c in chunk_ids}
    for chunk_id, lexeme, count in rows:
        tf[chunk_id][lexeme] = count
    n = len(chunk_ids)
    average = sum(sum(c.values()) for c in tf.values()) / n
    scores = {}
    for chunk_id, counts in tf.items():
        length = sum(counts.values())
        score = 0.0
        for term in terms:
            df = sum(1 for c in tf.values() if term in c)
            if counts[term]:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                score += idf * counts[term] * (k1 + 1) / (counts[term] + k1 * (1 - b + b * length / average))
        if score > 0:
            scores[chunk_id] = score
    return scores


def _fulltext(organization, query, collection_ids=None, top_k=10):
    return search(organization=organization, query=query, mode="fulltext", top_k=top_k, collection_ids=collection_ids)


def test_fulltext_ranks_and_scores_chunks_as_bm25_over_the_scope(organization, collection):
    _corpus(collection)
    query = "shock wave on the wing and a flat plate at high pressure"
    expected = _reference_bm25(organization, [collection.pk], query)
    hits = _fulltext(organization, query).hits
    best = max(expected.values())
    ranked = sorted(expected.items(), key=lambda item: -item[1])[:10]
    assert [h.chunk_id for h in hits] == [chunk_id for chunk_id, _ in ranked]
    for hit, (_, score) in zip(hits, ranked, strict=True):
        assert hit.text_score == pytest.approx(score / best, abs=1e-5)


def test_term_statistics_count_only_the_organization_and_the_chosen_collections(organization, collection):
    _corpus(collection)
    query = "vortex drag on a cone"
    before = [(h.chunk_id, h.text_score) for h in _fulltext(organization, query, [collection.pk]).hits]
    # The same words, many times over, in another organization and in another collection of this one.
    for owner_collection in (
        CollectionFactory(organization=OrganizationFactory()),
        CollectionFactory(organization=organization),
    ):
        document = DocumentFactory(collection=owner_collection)
        for ordinal in range(30):
            ChunkFactory(document=document, ordinal=ordinal, text="vortex drag cone vortex drag cone")
    after = [(h.chunk_id, h.text_score) for h in _fulltext(organization, query, [collection.pk]).hits]
    assert after == before
    both = _fulltext(organization, query, top_k=50).hits
    assert len({h.collection_id for h in both}) == 2


def _snapshot() -> tuple[set, set, set]:
    return (
        set(ChunkTerm.objects.values_list("chunk_id", "term", "organization_id", "collection_id", "tf", "length")),
        set(CollectionTerm.objects.values_list("collection_id", "term", "organization_id", "df")),
        set(CollectionTextStats.objects.values_list("collection_id", "organization_id", "chunks", "length")),
    )


def _rebuilt() -> tuple[set, set, set]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT documents_text_index_rebuild()")
    return _snapshot()


def test_statistics_follow_delete_reindex_and_failure_and_equal_a_rebuild(organization, collection):
    documents = _corpus(collection)
    other = _corpus(CollectionFactory(organization=organization), documents=3, seed=5)
    assert _snapshot() == _rebuilt()
    stats = CollectionTextStats.objects.get(collection_id=collection.pk)
    assert stats.chunks == Chunk.objects.for_org(organization).filter(collection=collection).count()

    document_services.document_delete(document=documents[0], actor=Actor.system(organization=documents[0].organization))
    document_services.document_reindex(
        document=documents[1], actor=Actor.system(organization=documents[1].organization)
    )
    document_mark_failed(
        organization_id=str(organization.pk), document_id=str(documents[2].pk), code="x", message="failed"
    )
    Chunk.objects.for_org(organization).filter(document=documents[3]).update(text="drag drag drag")
    after = _snapshot()
    assert after == _rebuilt()
    gone = set(
        Chunk.objects.unscoped().filter(document_id__in=[d.pk for d in documents[:3]]).values_list("pk", flat=True)
    )
    assert not gone
    assert CollectionTextStats.objects.get(collection_id=collection.pk).chunks == (len(documents) - 3) * 3
    assert (
        ChunkTerm.objects.filter(
            chunk_id__in=Chunk.objects.filter(document=documents[3]).values("pk"), term="drag"
        ).count()
        == 3
    )

    other[0].collection.delete()
    assert not CollectionTerm.objects.filter(collection_id=other[0].collection_id).exists()
    assert not CollectionTextStats.objects.filter(collection_id=other[0].collection_id).exists()
    assert _snapshot() == _rebuilt()


@pytest.mark.django_db(transaction=True)
def test_the_migration_builds_the_statistics_of_existing_chunks():
    before, after = (
        [("documents", "0002_document_content_unique_per_collection")],
        [("documents", "0003_text_index_postings")],
    )
    organization = OrganizationFactory()
    collection = CollectionFactory(organization=organization)
    document = DocumentFactory(collection=collection)
    for ordinal, text in enumerate(["supersonic wing flutter", "flutter of panels in supersonic flow"]):
        ChunkFactory(document=document, ordinal=ordinal, text=text)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
        assert CollectionTerm.objects.get(collection_id=collection.pk, term="flutter").df == 2
        assert CollectionTextStats.objects.get(collection_id=collection.pk).chunks == 2
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # the search statement of the later migrations
        hits = _fulltext(organization, "panel flutter").hits
        assert hits[0].text.startswith("flutter of panels")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_rebuild_command_restores_statistics_that_were_lost(organization, collection):
    from django.core.management import call_command

    _corpus(collection, documents=3)
    expected = _snapshot()
    ChunkTerm.objects.all().delete()
    CollectionTerm.objects.filter(collection_id=collection.pk).update(df=99)
    call_command("text_index_rebuild", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert _snapshot() == expected


def test_chunks_are_scored_exactly_when_the_postings_of_common_terms_are_read_in_part(
    organization, collection, settings
):
    # 36 chunks of 15 words: most words are in more than 12 chunks, so with 12 postings read per term their lists
    # are cut short; the pooled chunks must still get BM25 over every query term, and their share of the query's
    # idf weight (text_coverage) must count every term they hold.
    _corpus(collection)
    settings.SEARCH_CANDIDATES = 1
    settings.SEARCH_TEXT_TERM_DEPTH = 1  # raised to the candidate count: 12
    query = "shock wave on the wing and a flat plate at high pressure near the nozzle"
    expected = _reference_bm25(organization, [collection.pk], query)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(df) FROM documents_collectionterm WHERE collection_id = %s "
            "AND term = ANY(tsvector_to_array(to_tsvector('english', %s)))",
            [collection.pk, query],
        )
        assert cursor.fetchone()[0] > 12
    hits = _fulltext(organization, query, top_k=3).hits
    assert hits
    best = max(expected[h.chunk_id] for h in hits)
    for hit in hits:
        assert hit.text_score == pytest.approx(expected[hit.chunk_id] / best, abs=1e-5)
    # The exhaustive best chunk is found although its terms' lists were read in part.
    assert expected[hits[0].chunk_id] == pytest.approx(max(expected.values()))


def test_text_coverage_is_the_share_of_the_query_idf_a_chunk_holds(organization, collection):
    document = DocumentFactory(collection=collection)
    texts = ["nozzle flutter at the wing root", "wing panel", "cone drag", "jet vortex lift"]
    chunks = [ChunkFactory(document=document, ordinal=i, text=text) for i, text in enumerate(texts)]
    n = len(texts)

    def idf(df: int) -> float:
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # "nozzle" (df 1), "wing" (df 2), "zeppelin" (in no chunk: df 0).
    hits = {h.chunk_id: h for h in _fulltext(organization, "nozzle wing zeppelin").hits}
    total = idf(1) + idf(2) + idf(0)
    assert hits[chunks[0].pk].text_idf == pytest.approx(idf(1) + idf(2), abs=1e-5)
    assert hits[chunks[0].pk].text_coverage == pytest.approx((idf(1) + idf(2)) / total, abs=1e-5)
    assert hits[chunks[1].pk].text_coverage == pytest.approx(idf(2) / total, abs=1e-5)
    assert _fulltext(organization, "nozzle wing").hits[0].text_coverage == pytest.approx(1.0)
    hybrid = search(organization=organization, query="nozzle wing zeppelin", mode="hybrid", top_k=4).hits
    assert {h.chunk_id: h.text_coverage for h in hybrid}[chunks[2].pk] == 0.0
    assert all(h.text_coverage is None for h in search(organization=organization, query="wing", mode="vector").hits)
