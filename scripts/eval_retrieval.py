"""`make eval DATASET=dir`: retrieval quality on a BEIR-layout data set through the real upload → pipeline →
search path. Prints nDCG@10, recall@10 and MRR@10 for vector-only, full-text-only and hybrid (with each
fusion variant), the embedding provider, the chunking settings and timings.

Usage: scripts/eval_retrieval.py DATASET [--chunk-tokens 500 --overlap 60] [--limit-queries N] [--sweep]
Runs against the dev database in a fresh organization that is deleted afterwards; files stay in memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")


def _load(dataset: Path) -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    corpus = [json.loads(line) for line in (dataset / "corpus.jsonl").open() if line.strip()]
    queries = [json.loads(line) for line in (dataset / "queries.jsonl").open() if line.strip()]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with (dataset / "qrels" / "test.tsv").open() as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0] == "query-id":
                continue
            if int(parts[2]) > 0:
                qrels[parts[0]][parts[1]] = int(parts[2])
    return corpus, [q for q in queries if q["_id"] in qrels], qrels


def ndcg_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    return len(set(ranked[:10]) & set(relevant)) / len(relevant) if relevant else 0.0


def mrr_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    for i, doc in enumerate(ranked[:10]):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--chunk-tokens", type=int, default=None)
    parser.add_argument("--overlap", type=int, default=None)
    parser.add_argument("--limit-queries", type=int, default=0)
    parser.add_argument("--sweep", action="store_true", help="also try several fusion weights")
    parser.add_argument("--keep", action="store_true", help="keep the evaluation organization (prints its slug)")
    parser.add_argument("--reuse", default="", help="slug of a kept evaluation organization: skip ingestion")
    args = parser.parse_args()
    if not (args.dataset / "corpus.jsonl").exists():
        print(f"No BEIR data set at {args.dataset} (corpus.jsonl, queries.jsonl, qrels/test.tsv).")
        return 2

    import django

    django.setup()
    from celery import current_app
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test.utils import override_settings

    from apps.documents.models import Collection, Document, DocumentStatus
    from apps.documents.services import documents as document_services
    from apps.documents.services.search import search
    from apps.organizations.actors import Actor
    from apps.organizations.models import Organization

    call_command("migrate", verbosity=0)
    logging.getLogger("celery").setLevel(logging.WARNING)
    current_app.conf.task_always_eager = True  # the real task, run in this process (no broker round trip)
    overrides = {
        "STORAGES": {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}},
        "DOCUMENTS_MAX_PER_ORG": 10**7,
        "DOCUMENTS_MAX_BYTES_PER_ORG": 10**12,
    }
    if args.chunk_tokens:
        overrides["DOCUMENTS_CHUNK_TOKENS"] = args.chunk_tokens
    if args.overlap is not None:
        overrides["DOCUMENTS_CHUNK_OVERLAP_TOKENS"] = args.overlap
    corpus, queries, qrels = _load(args.dataset)
    if args.limit_queries:
        queries = queries[: args.limit_queries]

    with override_settings(**overrides):
        if args.reuse:
            organization = Organization.objects.get(slug=args.reuse)
        else:
            organization = Organization.objects.create(name="Retrieval evaluation", slug=f"eval-{time.time_ns()}")
        try:
            collection = Collection.objects.for_org(organization).first() or document_services.collection_create(
                organization=organization,
                actor=Actor.system(organization=organization, label="bench"),
                name=args.dataset.name,
            )
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
            print(
                f"dataset: {args.dataset.name}  documents: {len(corpus)}  queries: {len(queries)}  "
                f"embedding: offline {collection.embedding_model} ({collection.embedding_dimensions} dims)  "
                f"chunking: {settings.DOCUMENTS_CHUNK_TOKENS} tokens, overlap {settings.DOCUMENTS_CHUNK_OVERLAP_TOKENS}"
            )
            started = time.perf_counter()
            id_of: dict[str, str] = {}
            batch = 50
            if args.reuse:
                id_of = json.loads((ROOT / "var" / f"{organization.slug}.json").read_text())
                corpus = []
            for start in range(0, len(corpus), batch):
                files = []
                for row in corpus[start : start + batch]:
                    title, text = (row.get("title") or "").strip(), row.get("text") or ""
                    if not (title + text).strip():
                        continue  # an empty record: nothing to index (and nothing any system could find)
                    body = text if not title or text.lower().startswith(title.lower()[:40]) else f"{title}\n\n{text}"
                    name = (title[:80] or row["_id"]).replace("/", " ") + ".txt"
                    files.append((row["_id"], SimpleUploadedFile(name, body.encode())))
                results = document_services.document_create_from_uploads(
                    collection=collection,
                    actor=Actor.system(organization=collection.organization, label="bench"),
                    files=[f for _, f in files],
                )
                for (corpus_id, _), result in zip(files, results, strict=True):
                    id_of[str(result.document.pk)] = corpus_id
            ingest_seconds = max(time.perf_counter() - started, 1e-9)
            documents = Document.objects.for_org(organization)
            ready = documents.filter(status=DocumentStatus.READY).count()
            chunks = sum(documents.values_list("chunk_count", flat=True))
            print(
                f"ingest: {ready}/{documents.count()} ready, {chunks} chunks in {ingest_seconds:.1f} s "
                f"({chunks / ingest_seconds:.0f} chunks/s)"
            )

            variants: list[tuple[str, dict]] = [
                ("vector", {"mode": "vector"}),
                ("fulltext", {"mode": "fulltext"}),
                (f"hybrid ({settings.SEARCH_FUSION}, default)", {"mode": "hybrid"}),
                ("hybrid rrf", {"mode": "hybrid", "fusion": "rrf"}),
            ]
            weights = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7] if args.sweep else [0.3, 0.5]
            variants += [
                (f"hybrid weighted w={w}", {"mode": "hybrid", "fusion": "weighted", "vector_weight": w})
                for w in weights
            ]
            print(f"\n{'variant':34} {'nDCG@10':>8} {'R@10':>7} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}")
            for label, options in variants:
                ndcg = recall = mrr = 0.0
                latencies = []
                for query in queries:
                    t0 = time.perf_counter()
                    found = search(organization=organization, query=query["text"], top_k=40, **options)
                    latencies.append((time.perf_counter() - t0) * 1000)
                    ranked: list[str] = []
                    for hit in found.hits:
                        corpus_id = id_of.get(str(hit.document_id))
                        if corpus_id and corpus_id not in ranked:
                            ranked.append(corpus_id)
                    relevant = qrels[query["_id"]]
                    ndcg += ndcg_at_10(ranked, relevant)
                    recall += recall_at_10(ranked, relevant)
                    mrr += mrr_at_10(ranked, relevant)
                n = len(queries)
                latencies.sort()
                p50 = latencies[len(latencies) // 2]
                p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
                print(f"{label:34} {ndcg / n:8.4f} {recall / n:7.4f} {mrr / n:7.4f} {p50:7.1f} {p95:7.1f}")
        finally:
            if args.keep:
                (ROOT / "var" / f"{organization.slug}.json").write_text(json.dumps(id_of))
                print(f"kept organization: {organization.slug}")
            else:
                organization.delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
