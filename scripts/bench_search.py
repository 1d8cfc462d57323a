"""`make bench-search`: search latency in one large organization, then (with --tenants) vector recall under
tenant filters.

Default: one organization whose chunks are real sentences of the Cranfield and PubMedQA corpora (the data sets
under ../shared/datasets, or --datasets), offline embeddings, Cranfield's questions as queries. At 10,000 and
then 100,000 chunks it prints p50/p95 of the search service's full-text, hybrid and vector modes, and of a
reference BM25 engine (tantivy, in memory, same chunks, same queries, top 10) with Docent's ratio to it and the
overlap of the two full-text top 10s. Bounded: about three minutes on 2 cores.

--tenants: builds synthetic corpora (clustered unit vectors, organization sizes following a Zipf law so there are
large and small tenants) in a dedicated database, then for each query compares against the exact top 10:
  - docent: the search service's plan (exact scan via the organization index when the filter keeps
    few chunks, HNSW with iterative scans otherwise),
  - hnsw-iterative: always the service's HNSW query with iterative scans (the planner may still answer
    it through the organization index when that is cheaper, as it does for small tenants),
  - plain SQL: the same filtered ORDER BY ... LIMIT with default settings (what most vector-store wrappers
    run), once as the planner chooses and once steered through the HNSW index (what happens when the
    filter is a metadata predicate the planner cannot estimate: index first, filter after).
Usage: scripts/bench_search.py [--sizes 10000,100000] [--queries 100] [--dims 384]
       scripts/bench_search.py --tenants [--dims 384] [--queries 200] [--quick] [--configs 100000x20]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
BENCH_DB = "docent_bench"
DATASETS = ROOT.parent / "shared" / "datasets"


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
        cursor.execute(
            "TRUNCATE documents_chunk, documents_document, documents_collection, documents_chunkterm, "
            "documents_collectionterm, documents_collectiontextstats CASCADE"
        )
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


def _sentences(datasets: Path) -> list[str]:
    """Every sentence (at least four words) of the Cranfield and PubMedQA corpora, in corpus order."""
    import json
    import re

    sentences: list[str] = []
    for name in ("cranfield", "pubmedqa-pqal"):
        path = datasets / name / "corpus.jsonl"
        if not path.exists():
            raise SystemExit(f"No corpus at {path} (pass --datasets DIR)")
        for line in path.open():
            if line.strip():
                text = json.loads(line).get("text") or ""
                for sentence in re.split(r"(?<=[.?!])\s+", text):
                    if len(sentence.split()) >= 4:
                        sentences.append(sentence.strip())
    return sentences


def _chunk_texts(sentences: list[str], start: int, stop: int) -> list[str]:
    """Chunk i: sentence i; past the last sentence, two sentences of the corpora (still distinct, still real)."""
    n = len(sentences)
    return [
        sentences[i] if i < n else f"{sentences[i % n]} {sentences[(i * 7919 + i // n) % n]}"
        for i in range(start, stop)
    ]


def _append_chunks(texts: list[str], *, org_id: Any, collection_id: Any, document_id: Any, first: int) -> None:
    """COPY in statements of 10,000 rows (the text-index triggers run once per statement)."""
    from django.conf import settings
    from django.db import connection

    from apps.chatbot_provider.offline import hashing_embed

    dims = int(settings.EMBEDDING_DIMENSIONS)
    for offset in range(0, len(texts), 10_000):
        batch = texts[offset : offset + 10_000]
        vectors = hashing_embed(batch, dimensions=dims)
        with connection.cursor() as cursor:
            raw = cursor.connection
            with (
                raw.cursor() as copy_cursor,
                copy_cursor.copy(
                    "COPY documents_chunk (id, created_at, updated_at, organization_id, collection_id, document_id,"
                    " ordinal, text, heading_path, char_start, char_end, token_count, embedding) FROM STDIN"
                ) as copy,
            ):
                for i, (text, vector) in enumerate(zip(batch, vectors, strict=True)):
                    copy.write_row(
                        (
                            str(uuid.uuid4()),
                            "now",
                            "now",
                            str(org_id),
                            str(collection_id),
                            str(document_id),
                            first + offset + i,
                            text,
                            "[]",
                            0,
                            len(text),
                            len(text.split()),
                            _text(vector),
                        )
                    )


def _tantivy(texts: list[str]) -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="en_stem")
    builder.add_integer_field("ordinal", stored=True)
    schema = builder.build()
    index = tantivy.Index(schema)
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    for ordinal, text in enumerate(texts):
        writer.add_document(tantivy.Document(body=text, ordinal=ordinal))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index


def _clean_query(text: str) -> str:
    import re

    return " ".join(re.findall(r"[A-Za-z0-9]+", text))


# What is timed: (mode, fusion weight). "hybrid" is the default search of the offline embedder's collections (weight
# 0: the vector list is walked only when full-text finds too few candidates, ADR 0024); "hybrid-both" weighs the
# vector side as for a neural embedder's collections, so both candidate lists are taken.
METHODS: dict[str, tuple[Any, float | None]] = {
    "fulltext": ("fulltext", None),
    "hybrid": ("hybrid", None),
    "hybrid-both": ("hybrid", 0.7),
    "vector": ("vector", None),
}


def _run_one_organization(args: argparse.Namespace) -> None:
    import json

    from django.conf import settings
    from django.db import connection

    from apps.documents.models import Chunk, Collection, Document
    from apps.documents.services.search import SearchMode, search
    from apps.organizations.models import Organization

    sentences = _sentences(args.datasets)
    queries = [
        json.loads(line)["text"] for line in (args.datasets / "cranfield" / "queries.jsonl").open() if line.strip()
    ][: args.queries]
    words = statistics.mean(len(q.split()) for q in queries)
    print(
        f"corpus: {len(sentences):,} sentences of Cranfield and PubMedQA; queries: {len(queries)} Cranfield questions"
    )
    print(f"        ({words:.1f} words on average), top 10, each query once per method after one warm-up pass")
    org = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
    collection = Collection.objects.create(organization=org, name="Bench")
    document = Document.objects.create(
        organization=org, collection=collection, source="text", title="Bench", status="ready", chunk_count=0
    )
    loaded = 0
    all_texts: list[str] = []
    for size in args.sizes:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS chunk_embedding_hnsw")  # rebuilt below: faster than row by row
        texts = _chunk_texts(sentences, loaded, size)
        _append_chunks(texts, org_id=org.pk, collection_id=collection.pk, document_id=document.pk, first=loaded)
        all_texts.extend(texts)
        loaded = size
        Document.objects.for_org(org).filter(pk=document.pk).update(chunk_count=loaded)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            if size > int(settings.SEARCH_EXACT_MAX_CHUNKS):
                cursor.execute(
                    f"CREATE INDEX chunk_embedding_hnsw ON {Chunk._meta.db_table} "
                    "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
                )
            cursor.execute("VACUUM ANALYZE documents_chunk")
            cursor.execute("VACUUM ANALYZE documents_chunkterm")
            cursor.execute("VACUUM ANALYZE documents_collectionterm")
            cursor.execute("SELECT count(*) FROM documents_chunkterm")
            postings = cursor.fetchone()[0]
        index_s = time.perf_counter() - started
        started = time.perf_counter()
        reference = _tantivy(all_texts)
        searcher = reference.searcher()
        tantivy_s = time.perf_counter() - started
        print(
            f"\n{size:,} chunks in one organization: loaded in {load_s:.1f} s ({postings:,} postings), "
            f"vacuum/analyze (+ HNSW above {int(settings.SEARCH_EXACT_MAX_CHUNKS):,} "
            f"chunks) {index_s:.1f} s, tantivy index {tantivy_s:.1f} s"
        )
        results: dict[str, list[float]] = {}
        overlap: list[float] = []
        docent_top: dict[int, set[str]] = {}
        for warm in (True, False):
            for number, query in enumerate(queries):
                for method in METHODS:
                    mode, weight = METHODS[method]
                    t0 = time.perf_counter()
                    found = search(organization=org, query=query, mode=mode, top_k=10, vector_weight=weight)
                    ms = (time.perf_counter() - t0) * 1000
                    if not warm:
                        results.setdefault(method, []).append(ms)
                        if method == "fulltext":
                            docent_top[number] = {h.text for h in found.hits}
                t0 = time.perf_counter()
                parsed = reference.parse_query(_clean_query(query), ["body"])
                top = searcher.search(parsed, 10).hits
                ms = (time.perf_counter() - t0) * 1000
                if not warm:
                    results.setdefault("tantivy", []).append(ms)
                    texts_found = {all_texts[searcher.doc(address)["ordinal"][0]] for _, address in top}
                    if texts_found:
                        overlap.append(len(texts_found & docent_top[number]) / len(texts_found))
        # How much the bounded per-term reads lose: the same queries scored over every posting.
        from django.test.utils import override_settings

        # Tie-aware: a hit counts when its score reaches the exhaustive 10th score (short sentences tie often).
        exhaustive_overlap = []
        for query in queries[: args.exhaustive_queries]:
            bounded = search(organization=org, query=query, mode="fulltext", top_k=10).hits
            with override_settings(SEARCH_TEXT_TERM_DEPTH=10**9):
                full = search(organization=org, query=query, mode="fulltext", top_k=10).hits
            if full:
                cutoff = (full[-1].text_score or 0.0) - 1e-6
                exhaustive_overlap.append(sum(1 for h in bounded if (h.text_score or 0.0) >= cutoff) / len(full))
        # How much HNSW loses against the exact scan (only when the scope takes the HNSW plan).
        # And hybrid with both lists (its own, smaller ef_search, ADR 0026) against hybrid over the exact scan.
        vector_recall: list[float] = []
        hybrid_recall: list[float] = []
        checks: list[tuple[SearchMode, float | None, list[float]]] = [
            ("vector", None, vector_recall),
            ("hybrid", 0.7, hybrid_recall),
        ]
        if size > int(settings.SEARCH_EXACT_MAX_CHUNKS):
            for query in queries[: args.exhaustive_queries]:
                for mode, weight, recall in checks:
                    approximate = {
                        h.chunk_id
                        for h in search(organization=org, query=query, mode=mode, top_k=10, vector_weight=weight).hits
                    }
                    with override_settings(SEARCH_EXACT_MAX_CHUNKS=10**9):
                        exact = search(organization=org, query=query, mode=mode, top_k=10, vector_weight=weight).hits
                    if exact:
                        recall.append(len(approximate & {h.chunk_id for h in exact}) / len(exact))
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"  load average while measuring (1, 5, 15 min): {load} on {os.cpu_count()} cores")
        reference_p50 = statistics.median(results["tantivy"])
        reference_p95 = _percentile(results["tantivy"], 0.95)
        print(f"  {'method':34} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'p50 / tantivy':>14} {'p95 / tantivy':>14}")
        labels = {
            "fulltext": "docent full-text (BM25)",
            "hybrid": "docent hybrid",
            "hybrid-both": "docent hybrid, both lists (w 0.7)",
            "vector": "docent vector",
            "tantivy": "tantivy BM25 (reference)",
        }
        for method in (*METHODS, "tantivy"):
            values = results[method]
            p50, p95 = statistics.median(values), _percentile(values, 0.95)
            print(
                f"  {labels[method]:34} {len(values):7d} {p50:8.2f} {p95:8.2f} "
                f"{p50 / reference_p50:13.1f}x {p95 / reference_p95:13.1f}x"
            )
        print(f"  full-text top 10 shared with tantivy's (different analysers): {statistics.mean(overlap):.0%}")
        if exhaustive_overlap:
            print(
                f"  full-text top 10 as good as BM25 over every posting's ({len(exhaustive_overlap)} queries): "
                f"{statistics.mean(exhaustive_overlap):.1%}"
            )
        if vector_recall:
            print(
                f"  vector top 10 (HNSW, ef_search {int(settings.SEARCH_HNSW_EF_SEARCH)}) shared with the exact scan's "
                f"({len(vector_recall)} queries): {statistics.mean(vector_recall):.1%}"
            )
        if hybrid_recall:
            print(
                f"  hybrid top 10, both lists (HNSW, ef_search {int(settings.SEARCH_HNSW_EF_SEARCH_HYBRID)} over the "
                f"scope's share of the table) shared with hybrid over the exact scan ({len(hybrid_recall)} queries): "
                f"{statistics.mean(hybrid_recall):.1%}"
            )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=0, help="default 100 (200 with --tenants)")
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts of the one-organization runs")
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument(
        "--exhaustive-queries", type=int, default=30, help="queries also scored over every posting (0: none)"
    )
    parser.add_argument("--tenants", action="store_true", help="vector recall under tenant filters instead")
    parser.add_argument("--quick", action="store_true", help="--tenants: only 10k/20 and 100k/100")
    parser.add_argument("--configs", default="", help="--tenants: comma-separated CHUNKSxORGS, e.g. 100000x20")
    parser.add_argument("--ef-search", type=int, default=0, help="override SEARCH_HNSW_EF_SEARCH")
    parser.add_argument(
        "--ef-search-hybrid", type=int, default=0, help="override SEARCH_HNSW_EF_SEARCH_HYBRID (hybrid's vector list)"
    )
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database for inspection")
    args = parser.parse_args()
    args.queries = args.queries or (200 if args.tenants else 100)
    args.sizes = sorted(int(size) for size in args.sizes.split(","))
    started = time.perf_counter()
    from throwaway_db import drop_database, throwaway_database

    conninfo = throwaway_database(BENCH_DB, dims=args.dims)
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
            f"Python {platform.python_version()}, PostgreSQL {pg_version}, pgvector {pgvector_version}, "
            f"{args.dims} dims"
        )
        from django.test.utils import override_settings

        overrides: dict[str, int] = {}
        if args.ef_search:
            overrides["SEARCH_HNSW_EF_SEARCH"] = args.ef_search
        if args.ef_search_hybrid:
            overrides["SEARCH_HNSW_EF_SEARCH_HYBRID"] = args.ef_search_hybrid
        with override_settings(**overrides):
            if not args.tenants:
                _run_one_organization(args)
            else:
                source = VectorSource(args.dims)
                configs = (
                    [(10_000, 20), (100_000, 100)]
                    if args.quick
                    else [(10_000, 20), (10_000, 100), (100_000, 20), (100_000, 100)]
                )
                if args.configs:
                    configs = [(int(c.split("x")[0]), int(c.split("x")[1])) for c in args.configs.split(",")]
                for chunks, orgs in configs:
                    _run_config(chunks, orgs, args.queries, source)
    finally:
        if not args.keep:
            drop_database(conninfo, BENCH_DB)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
