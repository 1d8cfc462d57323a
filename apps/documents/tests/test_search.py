"""Retrieval: hybrid search finds the right passage, stays inside the organization and the chosen
collections, picks an exact plan for small scopes and HNSW for large ones, and a small organization
among many always gets its true top k."""

from __future__ import annotations

import random

import pytest
from django.conf import settings
from django.db import connection

from apps.documents.models import Chunk, Collection, Document, DocumentStatus
from apps.documents.services.errors import EmbeddingDimensionMismatch
from apps.documents.services.search import search, search_chunks
from apps.documents.tests.factories import ChunkFactory, CollectionFactory, DocumentFactory
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

PASSAGES = {
    "pumps": "Check the pump impeller every six months and clean the intake screen.",
    "refunds": "Refunds are issued to the original payment method within fourteen days.",
    "wings": "Laminar flow over the wing delays transition to turbulence and lowers drag.",
    "seals": "Replace a leaking mechanical seal on the pump shaft before it wastes energy.",
}


def _document(collection: Collection, texts: list[str], **kwargs) -> Document:
    document = DocumentFactory(collection=collection, **kwargs)
    for ordinal, text in enumerate(texts):
        ChunkFactory(document=document, ordinal=ordinal, text=text, heading_path=["Guide", "Care"], page_number=2)
    return document


@pytest.fixture
def corpus(collection):
    return {key: _document(collection, [text]) for key, text in PASSAGES.items()}


@pytest.mark.parametrize("mode", ["hybrid", "vector", "fulltext"])
def test_the_passage_that_answers_comes_first(organization, corpus, mode):
    hits = search_chunks(organization=organization, query="how often should the impeller be checked", mode=mode)
    assert hits[0].document_id == corpus["pumps"].pk
    assert hits[0].page == 2
    assert hits[0].heading == "Guide > Care"
    assert hits[0].document_title == corpus["pumps"].title


def test_scores_are_between_zero_and_one_and_sorted(organization, corpus):
    hits = search_chunks(organization=organization, query="pump seal leaking", top_k=4)
    assert len(hits) >= 2
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.vector_score is not None and 0 <= h.vector_score <= 1 for h in hits)
    assert all(h.text_score is not None and 0 <= h.text_score <= 1 for h in hits)


def test_another_organizations_chunks_are_never_returned(organization, corpus, other_organization):
    foreign = CollectionFactory(organization=other_organization)
    _document(foreign, ["The pump impeller must be checked every six months, says the other company."])
    hits = search_chunks(organization=organization, query="pump impeller checked every six months", top_k=20)
    assert {h.collection_id for h in hits} == {corpus["pumps"].collection_id}
    other_hits = search_chunks(organization=other_organization, query="pump impeller", top_k=20)
    assert {h.collection_id for h in other_hits} == {foreign.pk}


def test_only_the_chosen_collections_are_searched(organization, collection, corpus):
    second = CollectionFactory(organization=organization, name="Second")
    extra = _document(second, ["Pump impeller inspection schedule for the second plant."])
    hits = search_chunks(organization=organization, query="pump impeller", collection_ids=[second.pk], top_k=10)
    assert {h.document_id for h in hits} == {extra.pk}
    all_hits = search_chunks(organization=organization, query="pump impeller", top_k=10)
    assert extra.pk in {h.document_id for h in all_hits} and corpus["pumps"].pk in {h.document_id for h in all_hits}


def test_a_foreign_collection_id_finds_nothing(organization, corpus, other_organization):
    foreign = CollectionFactory(organization=other_organization)
    _document(foreign, ["pump impeller"])
    assert search_chunks(organization=organization, query="pump impeller", collection_ids=[foreign.pk]) == []


def test_chunks_of_documents_that_are_not_ready_are_not_returned(organization, collection):
    document = _document(collection, ["Turbine blade cooling with compressor air."], status=DocumentStatus.PROCESSING)
    assert search_chunks(organization=organization, query="turbine blade cooling") == []
    Document.objects.unscoped().filter(pk=document.pk).update(status=DocumentStatus.READY)
    assert [h.document_id for h in search_chunks(organization=organization, query="turbine blade cooling")] == [
        document.pk
    ]


def test_a_collection_of_another_dimension_is_refused(organization, collection, corpus):
    Collection.objects.unscoped().filter(pk=collection.pk).update(
        embedding_dimensions=settings.EMBEDDING_DIMENSIONS + 1
    )
    with pytest.raises(EmbeddingDimensionMismatch):
        search_chunks(organization=organization, query="pump")


def test_small_scopes_use_the_exact_plan_and_large_ones_hnsw(organization, corpus, settings):
    assert search(organization=organization, query="pump").plan == "exact"
    settings.SEARCH_EXACT_MAX_CHUNKS = 2
    result = search(organization=organization, query="pump")
    assert result.plan == "hnsw"
    assert result.hits[0].document_id in {corpus["pumps"].pk, corpus["seals"].pk}


def test_queries_with_no_indexed_words_still_get_vector_results(organization, corpus):
    hits = search_chunks(organization=organization, query="the of and", mode="hybrid")
    assert hits
    assert all(h.vector_score is not None for h in hits)
    assert search_chunks(organization=organization, query="   ") == []


def _random_unit(rng: random.Random, dims: int) -> list[float]:
    vector = [rng.gauss(0, 1) for _ in range(dims)]
    norm = sum(v * v for v in vector) ** 0.5
    return [v / norm for v in vector]


def test_a_small_organization_among_many_always_gets_its_true_top_k(settings):
    """The failure of post-filtered HNSW: the index returns the global nearest, the filter drops them.
    Here one large organization dominates the index; every small organization must still get its exact
    top 10, whichever plan is chosen."""
    rng = random.Random(7)
    dims = settings.EMBEDDING_DIMENSIONS
    large = OrganizationFactory()
    large_collection = CollectionFactory(organization=large)
    large_document = DocumentFactory(collection=large_collection, chunk_count=3000)
    small_orgs = [OrganizationFactory() for _ in range(8)]
    rows = []
    for i in range(3000):
        rows.append(
            Chunk(
                organization=large,
                collection=large_collection,
                document=large_document,
                ordinal=i,
                text=f"large {i}",
                embedding=_random_unit(rng, dims),
            )
        )
    smalls = []
    for org in small_orgs:
        coll = CollectionFactory(organization=org)
        doc = DocumentFactory(collection=coll, chunk_count=30)
        smalls.append((org, coll))
        for i in range(30):
            rows.append(
                Chunk(
                    organization=org,
                    collection=coll,
                    document=doc,
                    ordinal=i,
                    text=f"small {i}",
                    embedding=_random_unit(rng, dims),
                )
            )
    Chunk.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE documents_chunk")
    query = "large small"  # the offline embedding of this text is the query vector
    for org, coll in smalls:
        hits = search(organization=org, query=query, top_k=10, mode="vector")
        assert hits.plan == "exact"
        got = [h.chunk_id for h in hits.hits]
        truth = _exact_top_k(org, coll, query, 10)
        assert got == truth
    # Even when forced through HNSW (iterative scans), the small organizations keep their full top k.
    settings.SEARCH_EXACT_MAX_CHUNKS = 0
    recalls = []
    for org, coll in smalls:
        result = search(organization=org, query=query, top_k=10, mode="vector")
        assert result.plan == "hnsw"
        truth = set(_exact_top_k(org, coll, query, 10))
        recalls.append(len(truth & {h.chunk_id for h in result.hits}) / 10)
    assert min(len(search(organization=o, query=query, top_k=10, mode="vector").hits) for o, _ in smalls) == 10
    assert sum(recalls) / len(recalls) >= 0.8


def _exact_top_k(org, coll, query, k):
    from apps.chatbot_provider.offline import hashing_embed
    from apps.documents.services.search import Vector

    vector = hashing_embed([query], dimensions=settings.EMBEDDING_DIMENSIONS)[0]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(
            "SELECT id FROM documents_chunk WHERE organization_id = %s ORDER BY embedding <=> %s::vector, id LIMIT %s",
            [str(org.pk), Vector(vector), k],
        )
        return [row[0] for row in cursor.fetchall()]


def test_search_endpoint_returns_hits_with_scores_and_the_plan(member_client, corpus):
    response = member_client.post(
        "/api/v1/search", {"query": "how often should the impeller be checked", "top_k": 2}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["plan"] == "exact"
    assert body["fusion"] == "weighted"
    assert body["scope_chunks"] == 4
    assert len(body["results"]) == 2
    first = body["results"][0]
    assert first["document_id"] == str(corpus["pumps"].pk)
    assert first["heading"] == "Guide > Care" and first["page"] == 2
    assert 0 <= first["score"] <= 1 and 0 <= first["vector_score"] <= 1 and 0 <= first["text_score"] <= 1


def test_search_endpoint_refuses_a_collection_of_another_organization(member_client, other_organization):
    foreign = CollectionFactory(organization=other_organization)
    response = member_client.post(
        "/api/v1/search", {"query": "pump", "collection_ids": [str(foreign.pk)]}, format="json"
    )
    assert response.status_code == 400
    assert "collection_ids" in response.json()["error"]["details"]


def test_search_endpoint_validates_top_k_and_mode(member_client):
    assert member_client.post("/api/v1/search", {"query": "x", "top_k": 500}, format="json").status_code == 400
    assert member_client.post("/api/v1/search", {"query": "x", "mode": "magic"}, format="json").status_code == 400


def test_the_fusion_weight_follows_what_embeds_the_collection(organization, settings):
    from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
    from apps.documents.services.search import fusion_weight

    settings.SEARCH_VECTOR_WEIGHT = None
    settings.SEARCH_VECTOR_WEIGHT_LEXICAL = 0.3
    settings.SEARCH_VECTOR_WEIGHT_NEURAL = 0.6
    hashed = CollectionFactory(organization=organization)
    local = CollectionFactory(
        organization=organization,
        embedding_provider=ChatbotProviderFactory(organization=organization, kind="local", name="Here"),
        embedding_model="all-MiniLM-L6-v2",
    )
    remote = CollectionFactory(
        organization=organization,
        embedding_provider=ChatbotProviderFactory(organization=organization, kind="openai", name="There"),
        embedding_model="text-embedding-3-small",
    )
    assert fusion_weight(hashed) == 0.3
    assert fusion_weight(local) == 0.6
    assert fusion_weight(remote) == 0.6
    settings.SEARCH_VECTOR_WEIGHT = 0.45
    assert {fusion_weight(c) for c in (hashed, local, remote)} == {0.45}


def test_a_search_reports_its_scope_and_plan_even_when_nothing_matches(organization, corpus):
    found = search(organization=organization, query="zeppelin", mode="fulltext")
    assert found.hits == []
    assert found.scope_chunks == len(PASSAGES)
    hybrid = search(organization=organization, query="zeppelin", mode="hybrid")
    assert hybrid.plan == "exact"
    assert hybrid.scope_chunks == len(PASSAGES)


def test_a_zero_weighted_vector_list_is_not_walked_and_the_ranking_is_unchanged(organization, collection, settings):
    from apps.documents.services.search import fuse, search_candidates

    settings.SEARCH_VECTOR_WEIGHT = None
    settings.SEARCH_VECTOR_WEIGHT_LEXICAL = 0.0
    rng = random.Random(5)
    words = "pump seal shaft impeller intake screen valve energy bearing motor".split()  # noqa: SIM905
    _document(collection, [f"pump {' '.join(rng.choice(words) for _ in range(8))}." for _ in range(70)])
    _document(collection, ["Laminar flow over the wing lowers drag."])
    query = "leaking pump seal on the shaft"

    def candidates(**fusion):
        return search_candidates(
            organization_id=organization.pk, query=query, collections=[collection], mode="hybrid", limit=50, **fusion
        ).rows

    both = candidates()  # no fusion given: both lists, as the evaluation's sweeps take them
    assert any(row["vector_rank"] is not None for row in both)
    cheap = candidates(fusion="weighted")
    assert cheap and all(row["vector_rank"] is None for row in cheap)
    assert all(row["vector_similarity"] is not None for row in cheap)  # still scored by the query vector
    hits = search(organization=organization, query=query, mode="hybrid", top_k=10).hits
    assert [h.chunk_id for h in hits] == [h.chunk_id for h in fuse(both, mode="hybrid")[:10]]
    assert all(h.vector_score is not None for h in hits)
    # A weighted vector side (as for a neural embedder) walks the list.
    weighted = candidates(fusion="weighted", vector_weight=0.7)
    assert any(row["vector_rank"] is not None for row in weighted)


def test_hybrid_walks_with_a_smaller_ef_search_only_when_its_scope_is_most_of_the_table(organization, collection):
    """ADR 0026: SEARCH_HNSW_EF_SEARCH_HYBRID over the scope's share of the chunk table, within
    [candidate count, SEARCH_HNSW_EF_SEARCH]; a tenant that shares the index keeps the full ef_search."""
    _document(collection, [f"pump seal {i}" for i in range(6)])
    other = CollectionFactory(organization=OrganizationFactory())
    _document(other, ["pump seal 6", "pump seal 7"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE documents_chunk")  # reltuples: 8
        cursor.execute(
            "SELECT documents_walk_ef_search(8, 50, 200, 100), documents_walk_ef_search(6, 50, 200, 100), "
            "documents_walk_ef_search(2, 50, 200, 100), documents_walk_ef_search(8, 50, 200, 20), "
            "documents_walk_ef_search(20, 50, 200, 100)"
        )
        whole, most, small, below_limit, grown = cursor.fetchone()
    assert (whole, most, small, below_limit, grown) == (100, 134, 200, 50, 100)


def test_a_small_tenant_keeps_the_full_ef_search_when_the_table_grew_since_it_was_analysed(organization, collection):
    """The table's rows are estimated as the planner does (rows per page at the last ANALYZE times the pages now):
    a tenant that was most of the table when it was analysed and is a small part of it now walks HNSW with the
    full SEARCH_HNSW_EF_SEARCH, not the smaller one of a whole-table tenant."""
    with connection.cursor() as cursor:
        # Earlier tests' rolled-back rows leave pages with free space that the insert below would refill without
        # growing the table; a truncated table (rolled back with the test) grows by the pages the rows need.
        cursor.execute("TRUNCATE documents_chunk CASCADE")
    _document(collection, [f"pump seal {i}" for i in range(6)])
    other = CollectionFactory(organization=OrganizationFactory())
    grown = _document(other, ["pump seal 6", "pump seal 7"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE documents_chunk")  # reltuples: 8, the tenant's 6 chunks are three quarters
        cursor.execute("SELECT documents_walk_ef_search(6, 50, 200, 100)")
        assert cursor.fetchone()[0] == 134
        # The other organization's document grows to 2,002 chunks, without an ANALYZE.
        cursor.execute(
            "INSERT INTO documents_chunk (id, created_at, updated_at, ordinal, text, page_number, heading_path,"
            " char_start, char_end, token_count, embedding, organization_id, collection_id, document_id)"
            " SELECT gen_random_uuid(), c.created_at, c.updated_at, 1 + g, c.text, c.page_number, c.heading_path,"
            " c.char_start, c.char_end, c.token_count, c.embedding, c.organization_id, c.collection_id, c.document_id"
            " FROM documents_chunk c CROSS JOIN generate_series(1, 2000) g WHERE c.document_id = %s AND c.ordinal = 1",
            [grown.pk],
        )
        cursor.execute("SELECT documents_walk_ef_search(6, 50, 200, 100)")
        assert cursor.fetchone()[0] == 200
