"""Hybrid retrieval: pgvector cosine (exact or HNSW, chosen by how many chunks the tenant filter keeps)
plus BM25 over PostgreSQL's text search lexemes (postings kept by triggers, top-k without scoring every match),
fused into one score in [0, 1].

Organization and collection filters are part of every SQL statement, never applied afterwards.
See docs/search.md for the plan choice and the meaning of the scores.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum

from apps.documents.models import (
    TEXT_SEARCH_CONFIG,
    Chunk,
    ChunkTerm,
    Collection,
    CollectionTerm,
    CollectionTextStats,
    Document,
    DocumentStatus,
)
from apps.documents.services.embed import check_dimensions, embed_query

SearchMode = Literal["hybrid", "vector", "fulltext"]
MAX_QUERY_TERMS = 32
RRF_K = 60


@dataclass(frozen=True)
class SearchHit:
    chunk_id: uuid.UUID
    document_id: uuid.UUID
    collection_id: uuid.UUID
    document_title: str
    page: int | None
    heading: str  # heading path joined with " > "
    text: str
    score: float  # in [0, 1], see docs/search.md
    vector_score: float | None
    text_score: float | None


@dataclass
class SearchResult:
    hits: list[SearchHit]
    plan: str  # "exact", "hnsw", "none" (no vector part), or "empty"
    scope_chunks: int
    fusion: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def Vector(values: Sequence[float]) -> str:
    """pgvector's text form, cast with ::vector in SQL (one %-format of the whole vector; the same text as
    formatting each value with .7g, in a fraction of the time). A search formats its query vector once."""
    if isinstance(values, _FormattedVector):
        return values.text
    return _vector_format(len(values)) % tuple(values)


@lru_cache(maxsize=8)
def _vector_format(dimensions: int) -> str:
    return "[" + ",".join(["%.7g"] * dimensions) + "]"


class _FormattedVector(list[float]):
    """A query vector that carries its text form, so the statements of one search format it once."""

    text: str


def formatted_vector(values: Sequence[float]) -> list[float]:
    vector = _FormattedVector(values)
    vector.text = _vector_format(len(vector)) % tuple(vector)
    return vector


def _scope_chunk_count(organization_id: Any, collection_ids: Sequence[uuid.UUID]) -> int:
    total = (
        Document.objects.for_org(organization_id)
        .filter(collection_id__in=collection_ids, status=DocumentStatus.READY)
        .aggregate(n=Sum("chunk_count"))["n"]
    )
    return int(total or 0)


@dataclass
class TextQuery:
    """The query's lexemes found in the scope with their BM25 idf, and the scope's average chunk length."""

    terms: list[str]
    idf: list[float]
    average_length: float


def _scope_and_text_query(
    organization_id: Any, collection_ids: Sequence[uuid.UUID], query: str
) -> tuple[int, TextQuery | None]:
    """One round trip: the scope's chunk count (ready documents), BM25's N and total length over the scope,
    and the document frequency in the scope of each of the query's lexemes (PostgreSQL's parser and stemmer,
    the same that filled the chunks' search_vector)."""
    org, ids = str(organization_id), list(collection_ids)
    stats, terms = CollectionTextStats._meta.db_table, CollectionTerm._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH s AS ("
            f"  SELECT COALESCE(SUM(chunks), 0) AS n, COALESCE(SUM(length), 0) AS length FROM {stats} "
            "  WHERE organization_id = %s AND collection_id = ANY(%s)), "
            "f AS ("
            f"  SELECT term, SUM(df) AS df FROM {terms} WHERE organization_id = %s AND collection_id = ANY(%s) "
            "  AND term = ANY(tsvector_to_array(to_tsvector(%s::regconfig, %s))) GROUP BY term) "
            f"SELECT (SELECT COALESCE(SUM(chunk_count), 0) FROM {Document._meta.db_table} "
            "         WHERE organization_id = %s AND collection_id = ANY(%s) AND status = %s), s.n, s.length, "
            "       (SELECT array_agg(term ORDER BY df, term) FROM f), (SELECT array_agg(df ORDER BY df, term) FROM f) "
            "FROM s",
            [org, ids, org, ids, TEXT_SEARCH_CONFIG, query, org, ids, DocumentStatus.READY.value],
        )
        row = cursor.fetchone()
    if row is None:  # pragma: no cover - a SELECT without FROM always returns one row
        return 0, None
    scope, n, total_length = int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)
    found = list(zip(row[3] or [], (int(d) for d in row[4] or []), strict=True))[:MAX_QUERY_TERMS]
    if not found or n == 0:
        return scope, None
    n = max(n, *(d for _, d in found))
    return scope, TextQuery(
        terms=[t for t, _ in found],
        idf=[math.log(1 + (n - d + 0.5) / (d + 0.5)) for _, d in found],
        average_length=max(total_length / n, 1.0),
    )


def _vector_candidates(
    *, organization_id: Any, collection_ids: list[uuid.UUID], vector: list[float], limit: int, exact: bool
) -> list[tuple[uuid.UUID, float]]:
    table = Chunk._meta.db_table
    params: list[Any] = [Vector(vector), str(organization_id), collection_ids]
    if exact:
        with connection.cursor() as cursor:
            # `+ 0` keeps the planner off the HNSW index: the organization/collection B-tree finds the rows
            # and every one of them is compared (exact top k).
            cursor.execute(
                f"SELECT id, embedding <=> %s::vector AS distance FROM {table} "
                "WHERE organization_id = %s AND collection_id = ANY(%s) "
                "ORDER BY (embedding <=> %s::vector) + 0 LIMIT %s",
                [*params, Vector(vector), limit],
            )
            return [(row[0], float(row[1])) for row in cursor.fetchall() if row[1] is not None]
    # set_config(..., true) is local to a transaction: the settings and the scan share one.
    with transaction.atomic(), connection.cursor() as cursor:
        # Iterative index scans keep walking the graph until enough rows pass the tenant filter.
        ef_search = max(int(settings.SEARCH_HNSW_EF_SEARCH), limit)
        cursor.execute(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', %s, true)",
            [str(ef_search)],
        )
        cursor.execute(
            "WITH nearest AS MATERIALIZED ("
            f"  SELECT id, embedding <=> %s::vector AS distance FROM {table} "
            "  WHERE organization_id = %s AND collection_id = ANY(%s) "
            "  ORDER BY embedding <=> %s::vector LIMIT %s"
            ") SELECT id, distance FROM nearest ORDER BY distance",
            [*params, Vector(vector), limit],
        )
        return [(row[0], float(row[1])) for row in cursor.fetchall() if row[1] is not None]


def choose_plan(scope_chunks: int) -> str:
    """Exact when the tenant filter keeps few chunks (fast and recall 1.0), HNSW with iterative scans above."""
    return "exact" if scope_chunks <= int(settings.SEARCH_EXACT_MAX_CHUNKS) else "hnsw"


def vector_search(
    *, organization_id: Any, collection_ids: list[uuid.UUID], vector: list[float], limit: int
) -> tuple[list[tuple[uuid.UUID, float]], str, int]:
    """Nearest chunks by cosine distance inside the organization's collections: (hits, plan, scope size)."""
    scope = _scope_chunk_count(organization_id, collection_ids)
    plan = choose_plan(scope)
    hits = _vector_candidates(
        organization_id=organization_id,
        collection_ids=collection_ids,
        vector=vector,
        limit=limit,
        exact=plan == "exact",
    )
    return hits, plan, scope


def _text_candidates_sql(
    *, organization_id: Any, collection_ids: list[uuid.UUID], text_query: TextQuery, limit: int
) -> tuple[str, list[Any]]:
    """The best `limit` chunks by BM25 (chunk_id, score), without scoring every chunk that holds a query term.

    Each (collection, term) contributes its first SEARCH_TEXT_TERM_DEPTH postings from the impact-ordered
    index (an index-only scan that also carries tf and length); the chunks read are ranked by the BM25 sum
    over the postings read (the scope's N, df and average length), and the best 4 x limit of them are scored
    exactly over every query term and re-sorted. Terms held by at most that many chunks are read whole; of a
    commoner term only the weakest postings are left out, so a chunk that matches many common terms, each
    weakly, can be missed (docs/search.md gives the measured agreement with exhaustive BM25)."""
    depth = max(int(settings.SEARCH_TEXT_TERM_DEPTH), limit)
    k1, b = float(settings.SEARCH_BM25_K1), float(settings.SEARCH_BM25_B)
    # documents_text_candidates (migration 0003) holds the statement: its plan is cached per connection.
    return (
        "SELECT hit, score FROM documents_text_candidates(%s::uuid, %s::uuid[], %s::text[], %s::float8[], "
        "%s::float8, %s::float8, %s::float8, %s::int, %s::int, %s::int)",
        [
            str(organization_id),
            collection_ids,
            text_query.terms,
            text_query.idf,
            k1,
            b,
            text_query.average_length,
            depth,
            limit * 4,
            limit,
        ],
    )


def _rescore(
    *,
    organization_id: Any,
    chunk_ids: list[uuid.UUID],
    vector: list[float] | None,
    text_query: TextQuery | None,
    text_candidates_sql: tuple[str, list[Any]] | None = None,
) -> list[dict[str, Any]]:
    """Both signals for every candidate, with what a hit shows; only chunks of ready documents.

    The candidates are `chunk_ids` plus, when given, the full-text candidate query's chunks, found in the same
    statement (one round trip less); each row carries its `text_rank` in that list (None when not in it)."""
    chunk_table, document_table = Chunk._meta.db_table, Document._meta.db_table
    params: list[Any] = []
    text_hits_sql = "SELECT NULL::uuid AS chunk_id, NULL::bigint AS text_rank WHERE false"
    if text_candidates_sql is not None:
        text_hits_sql = (
            "SELECT chunk_id, row_number() OVER (ORDER BY score DESC, chunk_id) AS text_rank "
            f"FROM ({text_candidates_sql[0]}) h(chunk_id, score)"
        )
        params.extend(text_candidates_sql[1])
    vector_sql = "NULL::float8"
    if vector is not None:
        vector_sql = "1 - (c.embedding <=> %s::vector)"
        params.append(Vector(vector))
    text_sql = "NULL::float8"
    if text_query is not None:
        # One index scan per candidate over the (chunk, term) key finds every query term the chunk holds. The casts
        # matter: Django binds parameters as literals, and an untyped 1.2 is numeric (slow arithmetic).
        k1, b = float(settings.SEARCH_BM25_K1), float(settings.SEARCH_BM25_B)
        text_sql = (
            "(SELECT sum((%s::float8[])[array_position(%s::text[], x.term)] * x.tf * (%s::float8 + 1) "
            "  / (x.tf + %s::float8 * (1 - %s::float8 + %s::float8 * x.length / %s::float8))) "
            f"FROM {ChunkTerm._meta.db_table} x WHERE x.chunk_id = c.id AND x.term = ANY(%s))"
        )
        params.extend([text_query.idf, text_query.terms, k1, k1, b, b, text_query.average_length, text_query.terms])
    params.extend([chunk_ids, str(organization_id), DocumentStatus.READY.value])
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH text_hits AS MATERIALIZED ({text_hits_sql}) "
            "SELECT c.id, c.document_id, c.collection_id, d.title, c.page_number, c.heading_path, c.text, "
            f"c.ordinal, {vector_sql} AS vector_similarity, {text_sql} AS text_raw, th.text_rank "
            f"FROM {chunk_table} c JOIN {document_table} d ON d.id = c.document_id "
            "LEFT JOIN text_hits th ON th.chunk_id = c.id "
            "WHERE c.id = ANY(ARRAY(SELECT unnest(%s::uuid[]) UNION SELECT chunk_id FROM text_hits)) "
            "AND c.organization_id = %s AND d.status = %s",
            params,
        )
        columns = [col.name for col in cursor.description or []]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _json_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value)
    return [str(v) for v in value or []]


def _clamp(value: float) -> float:
    if value != value:  # NaN (a zero vector)
        return 0.0
    return max(0.0, min(1.0, value))


def search(
    *,
    organization: Any,
    query: str,
    collection_ids: Sequence[uuid.UUID] | None = None,
    top_k: int = 8,
    mode: SearchMode = "hybrid",
    fusion: str | None = None,
    vector_weight: float | None = None,
    collections: Sequence[Collection] | None = None,
) -> SearchResult:
    """search_chunks with the plan, the fusion and timings (for the API, benchmarks and evaluation).

    `collections`: the collections to search, already loaded (with their embedding provider) by the caller,
    instead of `collection_ids`; collections of another organization are ignored."""
    started = time.perf_counter()
    fusion = fusion or str(settings.SEARCH_FUSION)
    weight = float(settings.SEARCH_VECTOR_WEIGHT if vector_weight is None else vector_weight)
    organization_id = getattr(organization, "pk", organization)
    if collections is not None:
        collection_list = [c for c in collections if str(c.organization_id) == str(organization_id)]
    else:
        queryset = Collection.objects.for_org(organization_id).select_related("embedding_provider")
        if collection_ids is not None:
            queryset = queryset.filter(pk__in=list(collection_ids))
        collection_list = list(queryset)
    query = query.strip()
    if not collection_list or not query or top_k <= 0:
        return SearchResult(hits=[], plan="empty", scope_chunks=0, fusion=fusion)
    for collection in collection_list:
        check_dimensions(collection)
    limit = max(int(settings.SEARCH_CANDIDATES), top_k * 4)
    timings: dict[str, float] = {}

    # Collections embedded by different models need their own query vector: one group per model.
    groups: dict[tuple[Any, str], list[Collection]] = defaultdict(list)
    for collection in collection_list:
        groups[(collection.embedding_provider_id, collection.embedding_model)].append(collection)

    rows: list[dict[str, Any]] = []
    plans: set[str] = set()
    scope_total = 0
    for group in groups.values():
        ids = [c.pk for c in group]
        text_query: TextQuery | None = None
        if mode in ("hybrid", "fulltext"):
            scope, text_query = _scope_and_text_query(organization_id, ids, query)
        else:
            scope = _scope_chunk_count(organization_id, ids)
        scope_total += scope
        if scope == 0:
            continue
        vector: list[float] | None = None
        vector_hits: list[tuple[uuid.UUID, float]] = []
        if mode in ("hybrid", "vector"):
            t0 = time.perf_counter()
            vector = formatted_vector(embed_query(collection=group[0], query=query))
            timings["embed_ms"] = timings.get("embed_ms", 0) + (time.perf_counter() - t0) * 1000
            plan = choose_plan(scope)
            exact = plan == "exact"
            plans.add(plan)
            t0 = time.perf_counter()
            vector_hits = _vector_candidates(
                organization_id=organization_id, collection_ids=ids, vector=vector, limit=limit, exact=exact
            )
            timings["vector_ms"] = timings.get("vector_ms", 0) + (time.perf_counter() - t0) * 1000
        if not vector_hits and text_query is None:
            continue
        # The full-text candidates are found inside the rescoring statement (one round trip for both).
        t0 = time.perf_counter()
        group_rows = _rescore(
            organization_id=organization_id,
            chunk_ids=[chunk_id for chunk_id, _ in vector_hits],
            vector=vector,
            text_query=text_query,
            text_candidates_sql=None
            if text_query is None
            else _text_candidates_sql(
                organization_id=organization_id, collection_ids=ids, text_query=text_query, limit=limit
            ),
        )
        timings["rescore_ms"] = timings.get("rescore_ms", 0) + (time.perf_counter() - t0) * 1000
        vector_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(vector_hits, start=1)}
        for row in group_rows:
            row["vector_rank"] = vector_rank.get(row["id"])
        rows.extend(group_rows)

    hits = _fuse(rows, mode=mode, fusion=fusion, weight=weight)[:top_k]
    timings["total_ms"] = (time.perf_counter() - started) * 1000
    plan = "+".join(sorted(plans)) if plans else ("none" if mode == "fulltext" else "empty")
    return SearchResult(hits=hits, plan=plan, scope_chunks=scope_total, fusion=fusion, timings_ms=timings)


def _fuse(rows: list[dict[str, Any]], *, mode: SearchMode, fusion: str, weight: float) -> list[SearchHit]:
    max_text = max((float(r["text_raw"] or 0.0) for r in rows), default=0.0)
    max_vector = max(
        (_clamp(float(r["vector_similarity"])) for r in rows if r["vector_similarity"] is not None), default=0.0
    )
    scored: list[tuple[tuple[float, float, str, int], SearchHit]] = []
    for row in rows:
        vector_score = None if row["vector_similarity"] is None else _clamp(float(row["vector_similarity"]))
        text_score = None
        if mode != "vector":
            text_score = _clamp(float(row["text_raw"] or 0.0) / max_text) if max_text > 0 else 0.0
        if mode == "vector":
            score = vector_score or 0.0
        elif mode == "fulltext":
            score = text_score or 0.0
        elif fusion == "rrf":
            rrf = sum(1.0 / (RRF_K + rank) for rank in (row["vector_rank"], row["text_rank"]) if rank is not None)
            score = rrf / (2.0 / (RRF_K + 1))
        else:
            relative_vector = (vector_score or 0.0) / max_vector if max_vector > 0 else 0.0
            score = weight * relative_vector + (1 - weight) * (text_score or 0.0)
        hit = SearchHit(
            chunk_id=row["id"],
            document_id=row["document_id"],
            collection_id=row["collection_id"],
            document_title=row["title"],
            page=row["page_number"],
            heading=" > ".join(_json_list(row["heading_path"])),
            text=row["text"],
            score=round(_clamp(score), 6),
            vector_score=None if vector_score is None else round(vector_score, 6),
            text_score=None if text_score is None else round(text_score, 6),
        )
        raw_similarity = float(row["vector_similarity"]) if row["vector_similarity"] is not None else -2.0
        if raw_similarity != raw_similarity:
            raw_similarity = -2.0
        # Ties (e.g. similarities clamped to 0) keep the true cosine order, then document order.
        scored.append(((-_clamp(score), -raw_similarity, str(row["document_id"]), row["ordinal"]), hit))
    scored.sort(key=lambda item: item[0])
    return [hit for _, hit in scored]


def search_chunks(
    *,
    organization: Any,
    query: str,
    collection_ids: Sequence[uuid.UUID] | None = None,
    top_k: int = 8,
    mode: SearchMode = "hybrid",
    collections: Sequence[Collection] | None = None,
) -> list[SearchHit]:
    """The best top_k chunks of the organization's ready documents (all its collections when None)."""
    return search(
        organization=organization,
        query=query,
        collection_ids=collection_ids,
        top_k=top_k,
        mode=mode,
        collections=collections,
    ).hits
