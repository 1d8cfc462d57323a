"""`make bench-search`: vector retrieval latency and recall@10 under tenant filters.

Builds synthetic corpora (clustered unit vectors, organization sizes following a Zipf law so there are
large and small tenants) in a dedicated database, then for each query compares against the exact top 10:
  - docent: the search service's plan (exact scan via the organization index when the filter keeps
    few chunks, HNSW with iterative scans otherwise),
  - hnsw-iterative: always the service's HNSW query with iterative scans (the planner may still answer
    it through the organization index when that is cheaper, as it does for small tenants),
  - plain SQL: the same filtered ORDER BY ... LIMIT with default settings (what most vector-store wrappers
    run), once as the planner chooses and once steered through the HNSW index (what happens when the
    filter is a metadata predicate the planner cannot estimate: index first, filter after).
Usage: scripts/bench_search.py [--dims 384] [--queries 200] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
BENCH_DB = "docent_bench"


def _prepare_database(dims: int) -> tuple[dict, str]:
    """Create a fresh bench database next to the dev one and point Django at it."""
    import psycopg

    if os.environ.get("DATABASE_URL"):
        import environ

        base = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    else:
        from config.embedded import embedded_postgres_database

        base = embedded_postgres_database()
    conninfo = dict(host=base["HOST"], port=base["PORT"], user=base["USER"], password=base.get("PASSWORD") or None)
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    password = f":{quote(base['PASSWORD'])}" if base.get("PASSWORD") else ""
    os.environ["DATABASE_URL"] = (
        f"postgres://{base['USER']}{password}@{quote(str(base['HOST']), safe='')}:{base['PORT']}/{BENCH_DB}"
    )
    os.environ["EMBEDDING_DIMENSIONS"] = str(dims)
    return conninfo, BENCH_DB


def _drop_database(conninfo: dict) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _unit(values: list[float]) -> list[float]:
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return [v / norm for v in values]


class VectorSource:
    """Clustered vectors: real embeddings are clumpy, and uniform random ones make every index look bad."""

    def __init__(self, dims: int, clusters: int = 64, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.dims = dims
        self.centers = [_unit([self.rng.gauss(0, 1) for _ in range(dims)]) for _ in range(clusters)]

    def sample(self) -> list[float]:
        center = self.centers[self.rng.randrange(len(self.centers))]
        return _unit([c + self.rng.gauss(0, 0.06) for c in center])


def _text(vector: list[float]) -> str:
    return "[" + ",".join(f"{v:.5f}" for v in vector) + "]"


def _zipf_sizes(total: int, orgs: int) -> list[int]:
    weights = [1 / (i + 1) for i in range(orgs)]
    scale = total / sum(weights)
    sizes = [max(1, round(w * scale)) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def _load(chunks: int, orgs: int, source: VectorSource) -> list[tuple[Any, uuid.UUID, int]]:
    from django.db import connection

    from apps.documents.models import Chunk, Collection, Document
    from apps.organizations.models import Organization

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE documents_chunk, documents_document, documents_collection CASCADE")
        cursor.execute("DELETE FROM organizations_organization")
        cursor.execute("DROP INDEX IF EXISTS chunk_embedding_hnsw")
    tenants = []
    rows: list[tuple[Any, Any, Any, int]] = []
    for index, size in enumerate(_zipf_sizes(chunks, orgs)):
        org = Organization.objects.create(name=f"Bench {index}", slug=f"bench-{index}-{uuid.uuid4().hex[:6]}")
        collection = Collection.objects.create(organization=org, name="Bench")
        document = Document.objects.create(
            organization=org, collection=collection, source="text", title="Bench", status="ready", chunk_count=size
        )
        tenants.append((org, collection.pk, size))
        rows.extend((org.pk, collection.pk, document.pk, i) for i in range(size))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.connection
        with (
            raw.cursor() as copy_cursor,
            copy_cursor.copy(
                "COPY documents_chunk (id, created_at, updated_at, organization_id, collection_id, document_id,"
                " ordinal, text, heading_path, char_start, char_end, token_count, embedding) FROM STDIN"
            ) as copy,
        ):
            for org_id, collection_id, document_id, ordinal in rows:
                copy.write_row(
                    (
                        str(uuid.uuid4()),
                        "now",
                        "now",
                        str(org_id),
                        str(collection_id),
                        str(document_id),
                        ordinal,
                        f"chunk {ordinal}",
                        "[]",
                        0,
                        0,
                        0,
                        _text(source.sample()),
                    )
                )
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            f"CREATE INDEX chunk_embedding_hnsw ON {Chunk._meta.db_table} "
            "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        cursor.execute("ANALYZE")
    print(f"  loaded {len(rows):,} chunks in {loaded:.1f} s, HNSW index built in {time.perf_counter() - started:.1f} s")
    return tenants


def _plain_sql(org_id: object, collection_id: uuid.UUID, vector: list[float], *, force_hnsw: bool) -> list[uuid.UUID]:
    """The naive query. With force_hnsw the planner is steered to the HNSW index (as it is when the filter is
    a metadata predicate it cannot estimate): the index yields the global nearest, then the filter applies."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.iterative_scan', 'off', true)")
        if force_hnsw:
            cursor.execute("SELECT set_config('enable_sort', 'off', true), set_config('enable_seqscan', 'off', true)")
        cursor.execute(
            "SELECT id FROM documents_chunk WHERE organization_id = %s AND collection_id = ANY(%s) "
            "ORDER BY embedding <=> %s::vector LIMIT 10",
            [str(org_id), [collection_id], _text(vector)],
        )
        return [row[0] for row in cursor.fetchall()]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _run_config(chunks: int, orgs: int, queries: int, source: VectorSource) -> None:
    from django.conf import settings
    from django.test.utils import override_settings

    from apps.documents.services import search as search_services

    print(f"\n{chunks:,} chunks, {orgs} organizations, {source.dims} dims")
    tenants = _load(chunks, orgs, source)
    sizes = sorted(size for _, _, size in tenants)
    print(
        f"  organization sizes: min {sizes[0]:,}, median {sizes[len(sizes) // 2]:,}, max {sizes[-1]:,}; "
        f"exact-plan threshold {settings.SEARCH_EXACT_MAX_CHUNKS:,} chunks"
    )
    results: dict[str, dict[str, list[float]]] = {}

    def record(name: str, bucket: str, latency: float, recall: float) -> None:
        for key in (name + " | all", name + " | " + bucket):
            entry = results.setdefault(key, {"ms": [], "recall": []})
            entry["ms"].append(latency)
            entry["recall"].append(recall)

    for i in range(queries):
        org, collection_id, size = tenants[i % len(tenants)]
        bucket = "small orgs" if size <= 1000 else "large orgs"
        vector = source.sample()
        truth = {
            chunk_id
            for chunk_id, _ in search_services._vector_candidates(
                organization_id=org.pk, collection_ids=[collection_id], vector=vector, limit=10, exact=True
            )
        }
        t0 = time.perf_counter()
        hits, plan, _ = search_services.vector_search(
            organization_id=org.pk, collection_ids=[collection_id], vector=vector, limit=10
        )
        ms = (time.perf_counter() - t0) * 1000
        record(f"docent ({plan})", bucket, ms, len(truth & {h for h, _ in hits}) / max(len(truth), 1))
        with override_settings(SEARCH_EXACT_MAX_CHUNKS=-1):
            t0 = time.perf_counter()
            hits, _, _ = search_services.vector_search(
                organization_id=org.pk, collection_ids=[collection_id], vector=vector, limit=10
            )
            ms = (time.perf_counter() - t0) * 1000
        record("hnsw-iterative", bucket, ms, len(truth & {h for h, _ in hits}) / max(len(truth), 1))
        for label, force in (("plain SQL, planner's choice", False), ("plain SQL through HNSW", True)):
            t0 = time.perf_counter()
            plain = _plain_sql(org.pk, collection_id, vector, force_hnsw=force)
            ms = (time.perf_counter() - t0) * 1000
            record(label, bucket, ms, len(truth & set(plain)) / max(len(truth), 1))
    print(f"  {'method | organizations':44} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7} {'recall@10':>9} {'min':>5}")
    for key in sorted(results):
        entry = results[key]
        print(
            f"  {key:44} {len(entry['ms']):7d} {statistics.median(entry['ms']):7.1f} "
            f"{_percentile(entry['ms'], 0.95):7.1f} {statistics.mean(entry['recall']):9.3f} {min(entry['recall']):5.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="only 10k/20 and 100k/100")
    parser.add_argument("--configs", default="", help="comma-separated CHUNKSxORGS, e.g. 100000x20")
    parser.add_argument("--ef-search", type=int, default=0, help="override SEARCH_HNSW_EF_SEARCH")
    args = parser.parse_args()
    started = time.perf_counter()
    conninfo, _ = _prepare_database(args.dims)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            pgvector_version = cursor.fetchone()[0]
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        print(
            f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, PostgreSQL {pg_version}, pgvector {pgvector_version}"
        )
        source = VectorSource(args.dims)
        configs = (
            [(10_000, 20), (100_000, 100)]
            if args.quick
            else [(10_000, 20), (10_000, 100), (100_000, 20), (100_000, 100)]
        )
        if args.configs:
            configs = [(int(c.split("x")[0]), int(c.split("x")[1])) for c in args.configs.split(",")]
        from django.test.utils import override_settings

        with override_settings(**({"SEARCH_HNSW_EF_SEARCH": args.ef_search} if args.ef_search else {})):
            for chunks, orgs in configs:
                _run_config(chunks, orgs, args.queries, source)
        from django.db import connections

        connections.close_all()
    finally:
        _drop_database(conninfo)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
