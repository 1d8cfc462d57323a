"""Hybrid retrieval: pgvector cosine (exact or HNSW, chosen by how many chunks the tenant filter keeps)
plus BM25 over PostgreSQL's text search lexemes (postings kept by triggers, top-k without scoring every match),
fused into one score in [0, 1].

Organization and collection filters are part of every SQL statement, never applied afterwards.
See docs/search.md for the plan choice and the meaning of the scores.
"""

from __future__ import annotations

import json
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
    Collection,
    Document,
    DocumentStatus,
)
from apps.documents.services.embed import check_dimensions, embed_query, embedder_is_lexical

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
    # Full-text and hybrid: the idf of the question's words the chunk holds, and its share of the idf of all of
    # them (docs/search.md; the answer pipeline's lexical evidence).
    text_idf: float | None = None
    text_coverage: float | None = None


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


def _search_group(
    *,
    organization_id: Any,
    collection_ids: list[uuid.UUID],
    query: str,
    vector: list[float] | None,
    text: bool,
    vector_list: bool,
    limit: int,
) -> tuple[int, str, list[dict[str, Any]]]:
    """One round trip for one embedding model's collections: (scope, plan, candidate rows).

    `documents_search` (migration 0005) counts the scope, reads BM25's statistics and the query's lexemes, takes
    the vector candidates (exact or HNSW by scope size) and the full-text candidates (documents_text_candidates:
    the first SEARCH_TEXT_TERM_DEPTH postings of each query term from the impact-ordered index, the best
    4 x limit chunks read scored exactly), and returns both signals for every candidate with its rank in each
    list. Without `vector_list` the vector candidates are only walked when the full-text list is short (a
    fusion weight of 0), and the query vector scores the full-text candidates. Its first row carries only the scope
    and the plan (migration 0006). A hybrid search walks HNSW with SEARCH_HNSW_EF_SEARCH_HYBRID over the scope's
    share of the chunk table, within [limit, SEARCH_HNSW_EF_SEARCH] (migration 0007, ADR 0026)."""
    ef_search = int(settings.SEARCH_HNSW_EF_SEARCH)
    ef_min = min(int(settings.SEARCH_HNSW_EF_SEARCH_HYBRID), ef_search) if text and vector is not None else ef_search
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM documents_search(%s::uuid, %s::uuid[], %s::text, %s::vector, %s::boolean, %s::boolean, "
            "%s::int, %s::float8, %s::float8, %s::int, %s::int, %s::bigint, %s::int, %s::text, %s::regconfig, %s::int)",
            [
                str(organization_id),
                collection_ids,
                query,
                None if vector is None else Vector(vector),
                text,
                vector_list,
                limit,
                float(settings.SEARCH_BM25_K1),
                float(settings.SEARCH_BM25_B),
                int(settings.SEARCH_TEXT_TERM_DEPTH),
                MAX_QUERY_TERMS,
                int(settings.SEARCH_EXACT_MAX_CHUNKS),
                ef_search,
                DocumentStatus.READY.value,
                TEXT_SEARCH_CONFIG,
                ef_min,
            ],
        )
        columns = [col.name for col in cursor.description or []]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    header, hits = rows[0], rows[1:]
    return int(header["scope"] or 0), str(header["plan"]), hits


def _json_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value)
    return [str(v) for v in value or []]


def _clamp(value: float) -> float:
    if value != value:  # NaN (a zero vector)
        return 0.0
    return max(0.0, min(1.0, value))


def fusion_weight(collection: Collection) -> float:
    """The vector side's weight `w` for a collection, from what embeds it (ADR 0016): the offline hashing
    embedder is a lexical signal weaker than BM25, a neural model a semantic one that BM25 does not give.
    SEARCH_VECTOR_WEIGHT, when set, applies to every collection."""
    if settings.SEARCH_VECTOR_WEIGHT is not None:
        return float(settings.SEARCH_VECTOR_WEIGHT)
    lexical = embedder_is_lexical(collection)
    return float(settings.SEARCH_VECTOR_WEIGHT_LEXICAL if lexical else settings.SEARCH_VECTOR_WEIGHT_NEURAL)


@dataclass
class Candidates:
    """Both signals for every candidate of a query, before fusion (`fuse` ranks them)."""

    rows: list[dict[str, Any]]
    plans: set[str]
    scope_chunks: int
    timings_ms: dict[str, float]


def search_candidates(
    *,
    organization_id: Any,
    query: str,
    collections: Sequence[Collection],
    mode: SearchMode,
    limit: int,
    fusion: str | None = None,
    vector_weight: float | None = None,
) -> Candidates:
    """The candidates of each list with both signals; one round trip per embedding model (usually one).

    With a `fusion` (the search's own), a hybrid search whose vector side weighs 0 for a group (the offline hashing
    embedder's collections, ADR 0016) does not walk the vector list unless full-text finds too few candidates: the
    ranking would be the same, at the cost of the HNSW walk or exact scan (ADR 0024). Without one (the
    evaluation's sweeps, which fuse every way from one fetch) both lists are always taken."""
    # Collections embedded by different models need their own query vector: one group per model.
    groups: dict[tuple[Any, str], list[Collection]] = defaultdict(list)
    for collection in collections:
        groups[(collection.embedding_provider_id, collection.embedding_model)].append(collection)
    result = Candidates(rows=[], plans=set(), scope_chunks=0, timings_ms={})
    timings = result.timings_ms
    for group in groups.values():
        vector: list[float] | None = None
        if mode in ("hybrid", "vector"):
            t0 = time.perf_counter()
            vector = embed_query(collection=group[0], query=query)
            timings["embed_ms"] = timings.get("embed_ms", 0) + (time.perf_counter() - t0) * 1000
        weight = fusion_weight(group[0]) if vector_weight is None else vector_weight
        vector_list = mode == "vector" or fusion is None or fusion != "weighted" or weight > 0
        t0 = time.perf_counter()
        scope, plan, group_rows = _search_group(
            organization_id=organization_id,
            collection_ids=[c.pk for c in group],
            query=query,
            vector=vector,
            text=mode in ("hybrid", "fulltext"),
            vector_list=vector_list,
            limit=limit,
        )
        timings["sql_ms"] = timings.get("sql_ms", 0) + (time.perf_counter() - t0) * 1000
        result.scope_chunks += scope
        if vector is not None and scope > 0:
            result.plans.add(plan)
        for row in group_rows:
            row["fusion_weight"] = fusion_weight(group[0])
        result.rows.extend(group_rows)
    return result


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
    found = search_candidates(
        organization_id=organization_id,
        query=query,
        collections=collection_list,
        mode=mode,
        limit=limit,
        fusion=fusion,
        vector_weight=vector_weight,
    )
    hits = fuse(found.rows, mode=mode, fusion=fusion, weight=vector_weight, limit=top_k)
    timings = found.timings_ms
    timings["total_ms"] = (time.perf_counter() - started) * 1000
    plan = "+".join(sorted(found.plans)) if found.plans else ("none" if mode == "fulltext" else "empty")
    return SearchResult(hits=hits, plan=plan, scope_chunks=found.scope_chunks, fusion=fusion, timings_ms=timings)


def fuse(
    rows: list[dict[str, Any]],
    *,
    mode: SearchMode,
    fusion: str = "weighted",
    weight: float | None = None,
    limit: int | None = None,
) -> list[SearchHit]:
    """Rank the candidates (the best `limit` of them when given). `weight` overrides each collection's fusion
    weight (evaluation sweeps)."""
    max_text = max((float(r["text_raw"] or 0.0) for r in rows), default=0.0)
    max_vector = max(
        (_clamp(float(r["vector_similarity"])) for r in rows if r["vector_similarity"] is not None), default=0.0
    )
    min_text = min((float(r["text_raw"] or 0.0) for r in rows), default=0.0)
    min_vector = min(
        (_clamp(float(r["vector_similarity"])) for r in rows if r["vector_similarity"] is not None), default=0.0
    )
    scored: list[tuple[tuple[float, float, str, int], dict[str, Any], float, float | None, float | None]] = []
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
        elif fusion == "minmax":
            # Each signal spread over [0, 1] between the query's weakest and best candidate.
            w = float(row.get("fusion_weight", 0.3) if weight is None else weight)
            spread_vector = (
                ((vector_score or 0.0) - min_vector) / (max_vector - min_vector) if max_vector > min_vector else 0.0
            )
            raw_text = float(row["text_raw"] or 0.0)
            spread_text = (raw_text - min_text) / (max_text - min_text) if max_text > min_text else 0.0
            score = w * spread_vector + (1 - w) * spread_text
        else:
            w = float(row.get("fusion_weight", 0.3) if weight is None else weight)
            relative_vector = (vector_score or 0.0) / max_vector if max_vector > 0 else 0.0
            score = w * relative_vector + (1 - w) * (text_score or 0.0)
        raw_similarity = float(row["vector_similarity"]) if row["vector_similarity"] is not None else -2.0
        if raw_similarity != raw_similarity:
            raw_similarity = -2.0
        # Ties (e.g. similarities clamped to 0) keep the true cosine order, then document order.
        key = (-_clamp(score), -raw_similarity, str(row["document_id"]), row["ordinal"])
        scored.append((key, row, score, vector_score, text_score))
    scored.sort(key=lambda item: item[0])
    # The hits are built for the ranks returned only (a search keeps top_k of about 50 to 100 candidates).
    return [
        SearchHit(
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
            text_idf=None if row.get("text_idf") is None else round(float(row["text_idf"]), 6),
            text_coverage=None if row.get("text_coverage") is None else round(_clamp(float(row["text_coverage"])), 6),
        )
        for _, row, score, vector_score, text_score in scored[:limit]
    ]


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
