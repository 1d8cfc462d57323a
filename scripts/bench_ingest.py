"""`make bench-ingest`: chunks per second through Docent's pipeline, side by side with what bounds it and
what a developer would build instead, on one generated corpus (PDF, DOCX, HTML, Markdown, plain text):

  in-process     upload service → indexing task run in this process → extract → chunk → embed → write
  write stage    of that run, the time in the write stage (one COPY of a document's chunks + the document
                 marked ready, one transaction per document), against
  raw COPY       the same chunk rows (same ids, texts, vectors) in one binary COPY: the physical limit
  real path      the upload API → the queue (the dev broker: filesystem under var/ unless REDIS_URL answers)
                 → a Celery worker process (-c 2) → chunks, with how many documents a task carried (ADR 0128);
                 the same with as many small documents (--small-paragraphs, one chunk each); then a burst of
                 --burst small pasted documents, one a request
  LangChain      the same files through LangChain's loaders, RecursiveCharacterTextSplitter and
                 PGVector.add_texts with the same embedder (the virtualenv of requirements/peer.txt), twice: as a
                 developer would run it (no vector index, no full-text postings), and with its table maintaining
                 what Docent's chunk table does on every write (the same HNSW index, full-text vector, BM25
                 postings and statistics): the comparison of the same work
  stages         of the in-process run, milliseconds per chunk in claim, extract, chunk, embed, the write's COPY,
                 the rest of the write (document row, commit, events), and the rest (upload, dispatch, Celery)
  COPY shares    the raw COPY again without each thing the chunk table maintains (HNSW index, postings trigger,
                 both), each in a transaction rolled back: what each costs a chunk on this table (the table
                 keeps no other index than these and the b-trees its constraints and filters need, ADR 0113)

Each mode runs --runs times, alternating; medians are printed, with the ratios taken in the same run. Runs in
fresh organizations of the dev database (deleted afterwards); LangChain writes into a throwaway database.

Every embedder is measured: the offline one, and the local neural one (provider kind `local`) when installed
(`make install-local-embedder`); LangChain gets the offline one. Then the in-process pipeline (and LangChain)
at three document sizes (--sizes, paragraphs a document), and the database statements of one small document.

Usage: scripts/bench_ingest.py [--documents 60] [--paragraphs 30] [--runs 3] [--provider KIND]
       [--embedding-model NAME] [--burst 100] [--sizes 5,30,150] [--size-documents 20] [--small-paragraphs 5]
       [--no-worker] [--no-peer]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
# As in production (and as bench-chat and bench-realtime start their servers): the dev settings' DEBUG would route
# every statement through Django's debug cursor, about a quarter of the write stage's time.
os.environ.setdefault("DEBUG", "false")

WORDS = [
    "pump",
    "impeller",
    "seal",
    "bearing",
    "shaft",
    "pressure",
    "flow",
    "turbine",
    "blade",
    "compressor",
    "air",
    "cooling",
    "film",
    "metal",
    "wing",
    "lift",
    "drag",
    "boundary",
    "layer",
    "laminar",
    "turbulent",
    "transition",
    "heat",
    "transfer",
    "nozzle",
    "shock",
    "wave",
    "supersonic",
    "model",
    "test",
    "tunnel",
    "refund",
    "policy",
    "customer",
    "invoice",
    "payment",
    "order",
    "delivery",
    "warranty",
    "return",
    "contract",
    "service",
    "support",
    "account",
]


def _paragraph(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(3, 6)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def _document(kind: str, index: int, paragraphs: int, rng: random.Random) -> tuple[str, bytes]:
    body = [_paragraph(rng) for _ in range(paragraphs)]
    if kind == "txt":
        return f"doc-{index}.txt", "\n\n".join(body).encode()
    if kind == "md":
        parts = []
        for i, paragraph in enumerate(body):
            if i % 5 == 0:
                parts.append(f"## Section {i // 5 + 1}")
            parts.append(paragraph)
        return f"doc-{index}.md", (f"# Document {index}\n\n" + "\n\n".join(parts)).encode()
    if kind == "html":
        inner = "".join(f"<h2>Part {i}</h2><p>{p}</p>" if i % 5 == 0 else f"<p>{p}</p>" for i, p in enumerate(body))
        html = f"<!DOCTYPE html><html><head><title>Doc {index}</title></head><body><nav>Home Shop</nav>"
        return f"doc-{index}.html", (html + f"<main><article>{inner}</article></main></body></html>").encode()
    if kind == "pdf":
        from fpdf import FPDF

        pdf = FPDF()
        pdf.set_font("helvetica", size=11)
        for i in range(0, len(body), 4):
            pdf.add_page()
            pdf.multi_cell(0, 6, "\n\n".join(body[i : i + 4]))
        return f"doc-{index}.pdf", bytes(pdf.output())
    import docx

    document = docx.Document()
    for i, paragraph in enumerate(body):
        if i % 5 == 0:
            document.add_heading(f"Section {i // 5 + 1}", level=1)
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return f"doc-{index}.docx", buffer.getvalue()


PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"
# The pipeline's stages timed in the in-process run (functions of apps.documents.services.pipeline).
STAGES = ("_claim", "extract", "chunk_sections", "embed_for_collection")
STAGE_NAMES = {"_claim": "claim", "extract": "extract", "chunk_sections": "chunk", "embed_for_collection": "embed"}
BIN = Path(sys.executable).parent


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Bench:
    """The Django side: a fresh organization per run, the corpus, the timings."""

    def __init__(self, args: argparse.Namespace) -> None:
        from django.conf import settings

        self.args = args
        self.settings = settings
        self.created: list[Any] = []

    def organization(self, label: str, provider_kind: str = "offline") -> tuple[Any, Any, Any]:
        from apps.chatbot_provider.models import ChatbotProvider
        from apps.documents.services import documents as document_services
        from apps.organizations.actors import Actor
        from apps.organizations.models import Organization

        org = Organization.objects.create(name=f"Ingest {label}", slug=f"bench-ingest-{label}-{time.time_ns()}")
        self.created.append(org)
        actor = Actor.system(organization=org, label="bench")
        provider = None
        if provider_kind != "offline":
            from apps.chatbot_provider.clients import CLIENTS

            provider = ChatbotProvider.objects.create(
                organization=org,
                name="Embedder",
                kind=provider_kind,
                base_url=self.args.base_url or "",
                default_embedding_model=CLIENTS[provider_kind].default_embedding_model,
            )
        collection = document_services.collection_create(
            organization=org,
            actor=actor,
            name="Bench",
            embedding_provider=provider,
            embedding_model=(self.args.embedding_model if provider_kind == self.args.provider else "") or None,
        )
        return org, collection, actor

    def cleanup(self) -> None:
        from apps.documents.models import Collection

        while self.created:
            org = self.created.pop()
            org_id = str(org.pk)
            Collection.objects.for_org(org).delete()  # first: they protect their embedding provider
            org.delete()
            shutil.rmtree(Path(self.settings.MEDIA_ROOT) / "documents" / org_id, ignore_errors=True)

    def chunks_of(self, org: Any) -> int:
        from apps.documents.models import Document

        return sum(Document.objects.for_org(org).values_list("chunk_count", flat=True))

    def in_process(self, corpus: list[tuple[str, str, bytes]], provider_kind: str = "offline") -> dict[str, Any]:
        """The pipeline in this process; returns chunks/s, the write stage's time and the rows it wrote."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        from apps.documents.models import Document, DocumentStatus
        from apps.documents.services import chunk_write, pipeline
        from apps.documents.services import documents as document_services

        org, collection, actor = self.organization("inprocess", provider_kind)
        written: list[tuple[Any, ...]] = []
        timings = {"write_stage": 0.0, "copy": 0.0}
        real_write, real_copy = pipeline._write_chunks, chunk_write.chunks_copy
        stages: dict[str, float] = defaultdict(float)
        timed_stages = {name: getattr(pipeline, name) for name in STAGES}

        def timer(name: str, function: Any) -> Any:
            def timed(*a: Any, **k: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return function(*a, **k)
                finally:
                    stages[name] += time.perf_counter() - t0

            return timed

        def timed_write(*a: Any, **k: Any) -> None:
            t0 = time.perf_counter()
            try:
                real_write(*a, **k)
            finally:
                timings["write_stage"] += time.perf_counter() - t0

        def timed_copy(rows: Any) -> int:
            written.extend(rows)
            t0 = time.perf_counter()
            try:
                return real_copy(rows)
            finally:
                timings["copy"] += time.perf_counter() - t0

        pipeline._write_chunks, pipeline.chunks_copy = timed_write, timed_copy  # type: ignore[assignment]
        for name, function in timed_stages.items():
            setattr(pipeline, name, timer(name, function))
        per_kind: dict[str, float] = defaultdict(float)
        try:
            started = time.perf_counter()
            for kind, name, content in corpus:
                t0 = time.perf_counter()
                document_services.document_create_from_uploads(
                    collection=collection, actor=actor, files=[SimpleUploadedFile(name, content)]
                )
                per_kind[kind] += time.perf_counter() - t0
            elapsed = time.perf_counter() - started
        finally:
            pipeline._write_chunks, pipeline.chunks_copy = real_write, real_copy  # type: ignore[assignment]
            for name, function in timed_stages.items():
                setattr(pipeline, name, function)
        ready = Document.objects.for_org(org).filter(status=DocumentStatus.READY).count()
        chunks = self.chunks_of(org)
        return {
            "org": org,
            "ready": ready,
            "chunks": chunks,
            "seconds": elapsed,
            "per_kind": per_kind,
            "rows": written,
            "stages": dict(stages),
            **timings,
        }

    def raw_copy(self, org: Any, rows: list[tuple[Any, ...]]) -> float:
        """The same rows again, in one COPY and one transaction (the documents' chunks are removed first)."""
        from django.db import transaction

        from apps.documents.models import Chunk
        from apps.documents.services.chunk_write import chunks_copy

        Chunk.objects.for_org(org).delete()
        started = time.perf_counter()
        with transaction.atomic():
            chunks_copy(rows)
        return time.perf_counter() - started

    def raw_copy_per_document(self, org: Any, rows: list[tuple[Any, ...]]) -> float:
        """The same rows again, one COPY and one transaction per document, as the pipeline writes them: what
        the database alone costs a write that commits each document as it is ready."""
        from django.db import transaction

        from apps.documents.models import Chunk
        from apps.documents.services.chunk_write import COLUMNS, chunks_copy

        document = COLUMNS.index("document_id")
        by_document: dict[Any, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            by_document[row[document]].append(row)
        Chunk.objects.for_org(org).delete()
        started = time.perf_counter()
        for document_rows in by_document.values():
            with transaction.atomic():
                chunks_copy(document_rows)
        return time.perf_counter() - started

    def copy_shares(self, org: Any, rows: list[tuple[Any, ...]]) -> dict[str, float]:
        """Milliseconds per chunk of the raw COPY with the chunk table as it is and without each thing it
        maintains on every write (an index dropped, the postings trigger disabled), each in a transaction
        rolled back afterwards: what each of them costs a write, on this server and this table."""
        from django.db import connection, transaction

        from apps.documents.models import Chunk
        from apps.documents.services.chunk_write import chunks_copy

        table = Chunk._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
            indexes = dict(cursor.fetchall())
        hnsw = [name for name, definition in indexes.items() if "USING hnsw" in definition]
        variants = {
            "as it is": [],
            "without the HNSW index": [f"DROP INDEX {name}" for name in hnsw],
            "without the postings trigger": [f"ALTER TABLE {table} DISABLE TRIGGER documents_chunk_text_index_insert"],
            "without both": [
                *(f"DROP INDEX {name}" for name in hnsw),
                f"ALTER TABLE {table} DISABLE TRIGGER documents_chunk_text_index_insert",
            ],
        }
        shares: dict[str, float] = {}

        class Rollback(Exception):
            pass

        for label, statements in variants.items():
            try:
                with transaction.atomic():
                    Chunk.objects.for_org(org).delete()
                    with connection.cursor() as cursor:
                        for statement in statements:
                            cursor.execute(statement)
                    started = time.perf_counter()
                    chunks_copy(rows)
                    shares[label] = 1000 * (time.perf_counter() - started) / max(len(rows), 1)
                    raise Rollback
            except Rollback:
                pass
        return shares

    def real_path(
        self, corpus: list[tuple[str, str, bytes]], client: Any, provider_kind: str = "offline"
    ) -> dict[str, float]:
        """Upload through the API in requests of DOCUMENTS_MAX_FILES_PER_UPLOAD files; a worker indexes them."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        org, collection, _ = self.organization("api", provider_kind)
        headers = self.api_headers(org)
        per_request = int(self.settings.DOCUMENTS_MAX_FILES_PER_UPLOAD)
        started = time.perf_counter()
        for start in range(0, len(corpus), per_request):
            files = [SimpleUploadedFile(name, content) for _, name, content in corpus[start : start + per_request]]
            response = client.post(f"/api/v1/collections/{collection.pk}/documents", {"files": files}, **headers)
            if response.status_code != 202:
                raise SystemExit(f"upload answered {response.status_code}: {response.content[:300]!r}")
        accepted = time.perf_counter() - started
        self.wait_settled(org, len(corpus))
        elapsed = time.perf_counter() - started
        from apps.documents.models import Document

        # A task's documents share its claim (the task id): how many documents a task carried (ADR 0128).
        owners = list(Document.objects.for_org(org).values_list("lease_owner", flat=True))
        per_task = len(owners) / max(len(set(owners)), 1)
        return {"chunks": self.chunks_of(org), "seconds": elapsed, "accepted": accepted, "per_task": per_task}

    def burst(self, client: Any, count: int, provider_kind: str = "offline") -> dict[str, float]:
        """`count` small pasted documents through the API at once; seconds until the last one is ready."""
        org, collection, _ = self.organization("burst", provider_kind)
        headers = self.api_headers(org)
        started = time.perf_counter()
        for i in range(count):
            text = f"Note {i}: the impeller is checked every six months and the seal every year. " * 10
            response = client.post(
                f"/api/v1/collections/{collection.pk}/documents/text",
                {"title": f"Note {i}", "text": text},
                content_type="application/json",
                **headers,
            )
            if response.status_code != 202:
                raise SystemExit(f"text upload answered {response.status_code}: {response.content[:300]!r}")
        accepted = time.perf_counter() - started
        self.wait_settled(org, count)
        seconds = time.perf_counter() - started
        from apps.documents.models import Document

        rows = Document.objects.for_org(org).values_list("created_at", "dispatched_at", "started_at", "finished_at")
        waits: dict[str, list[float]] = defaultdict(list)
        for created, dispatched, begun, finished in rows:
            if created and dispatched and begun and finished:
                waits["in line (fair dispatch)"].append((dispatched - created).total_seconds() * 1000)
                waits["broker to worker"].append((begun - dispatched).total_seconds() * 1000)
                waits["indexing"].append((finished - begun).total_seconds() * 1000)
        return {"seconds": seconds, "accepted": accepted, **{k: _median(v) for k, v in waits.items()}}

    def statements(self, corpus: list[tuple[str, str, bytes]]) -> dict[str, float]:
        """What one small document costs the database, from upload to ready (in-process, after a warm-up): SQL
        statements (the chunks' COPY included), transactions, and how many of them wait for the disk."""
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from apps.documents.services import chunk_write, pipeline
        from apps.documents.services import documents as document_services

        _org, collection, actor = self.organization("statements")
        copies = 0
        real_copy = chunk_write.chunks_copy

        def counted_copy(rows: Any) -> int:
            nonlocal copies
            copies += 1
            return real_copy(rows)

        pipeline.chunks_copy = counted_copy  # type: ignore[assignment]
        try:
            for index, (_kind, name, content) in enumerate(corpus[:2]):
                copies = 0
                with CaptureQueriesContext(connection) as captured:
                    document_services.document_create_from_uploads(
                        collection=collection, actor=actor, files=[SimpleUploadedFile(f"{index}-{name}", content)]
                    )
        finally:
            pipeline.chunks_copy = real_copy  # type: ignore[assignment]
        sql = [query["sql"] for query in captured.captured_queries]
        transactions: list[list[str]] = []
        current: list[str] | None = None
        for statement in sql:
            if statement == "BEGIN":
                current = []
                transactions.append(current)
            elif current is not None:
                current.append(statement)
                if statement in ("COMMIT", "ROLLBACK"):
                    current = None
            elif statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE", "WITH")):
                transactions.append([statement, "COMMIT"])  # a write outside a block commits on its own
        committed = [t for t in transactions if t and t[-1] == "COMMIT"]
        asynchronous = [t for t in committed if any("synchronous_commit" in statement for statement in t)]
        return {
            "statements": len([q for q in sql if q not in ("BEGIN", "COMMIT")]) + copies,
            "transactions": len(committed),
            "durable commits": len(committed) - len(asynchronous),
        }

    def api_headers(self, org: Any) -> dict[str, str]:
        from apps.api_keys.services import api_key_create
        from apps.organizations.actors import Actor

        issued = api_key_create(
            organization=org,
            actor=Actor.system(organization=org, label="bench"),
            name="bench",
            scopes=["documents:write", "documents:read"],
            rate_limit_per_minute=10**9,
        )
        return {"HTTP_AUTHORIZATION": f"Bearer {issued.plaintext}", "HTTP_HOST": "127.0.0.1"}

    def wait_settled(self, org: Any, count: int, timeout: float = 900) -> None:
        from apps.documents.models import Document, DocumentStatus

        deadline = time.monotonic() + timeout
        settled = [DocumentStatus.READY, DocumentStatus.FAILED]
        while Document.objects.for_org(org).filter(status__in=settled).count() < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out after {timeout:.0f} s waiting for the worker")
            time.sleep(0.05)


def _worker(log: Path) -> subprocess.Popen[bytes]:
    command = [str(BIN / "celery"), "-A", "config", "worker", "-l", "warning", "-c", "2", "--without-gossip"]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT)


def _langchain(
    corpus: list[tuple[str, str, bytes]], dims: int, *, docent_indexes: bool = False
) -> dict[str, Any] | None:
    """The LangChain pipeline over the same files, in the peer virtualenv, into a throwaway database; with
    `docent_indexes`, its table also maintains what Docent's does (HNSW index, BM25 postings and statistics)."""
    from throwaway_db import drop_scratch_database, scratch_database

    if not PEER_PYTHON.exists():
        return None
    name = "docent_bench_langchain"
    conninfo, url = scratch_database(name)
    try:
        with tempfile.TemporaryDirectory() as folder:
            for _, file_name, content in corpus:
                (Path(folder) / file_name).write_bytes(content)
            script = ROOT / "scripts" / "peer" / "langchain_ingest.py"
            out = subprocess.run(
                [
                    str(PEER_PYTHON),
                    str(script),
                    folder,
                    url,
                    "--dimensions",
                    str(dims),
                    *(["--docent-indexes"] if docent_indexes else []),
                ],
                capture_output=True,
                text=True,
            )
        if out.returncode != 0:
            raise SystemExit(f"the LangChain pipeline failed:\n{out.stderr[-3000:]}")
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        drop_scratch_database(conninfo, name)


def _local_available() -> bool:
    from apps.chatbot_provider import local_model

    return local_model.available()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=60)
    parser.add_argument("--paragraphs", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--provider",
        default="",
        help="one embedding provider kind only (offline, local, ...); default: offline, and local when installed",
    )
    parser.add_argument("--embedding-model", default="")
    parser.add_argument("--base-url", default="")
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--sizes", default="5,30,150", help="paragraphs a document for the size series ('' for none)")
    parser.add_argument("--size-documents", type=int, default=20)
    parser.add_argument(
        "--small-paragraphs", type=int, default=5, help="paragraphs of the real path's small documents (0: none)"
    )
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from celery import current_app
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from apps.chatbot_provider.models import ProviderKind

    if args.provider and args.provider not in ProviderKind.values:
        print(
            f"embedding provider kind {args.provider!r} is not available in this build "
            f"({', '.join(ProviderKind.values)})"
        )
        return 2
    embedders = [args.provider] if args.provider else ["offline"]
    if not args.provider:
        if _local_available():
            embedders.append(ProviderKind.LOCAL.value)
        else:
            print("local neural embedder: not installed (make install-local-embedder), not measured")
    call_command("migrate", verbosity=0)
    logging.getLogger("celery").setLevel(logging.WARNING)
    rng = random.Random(5)
    kinds = ["txt", "md", "html", "pdf", "docx"]
    corpus = [
        (kinds[i % len(kinds)], *_document(kinds[i % len(kinds)], i, args.paragraphs, rng))
        for i in range(args.documents)
    ]
    total_bytes = sum(len(content) for _, _, content in corpus)
    # Small documents through the real path: where the per-document work counts most (ADR 0128).
    small_rng = random.Random(7)  # its own: the other corpora stay as they were
    small_corpus = [
        (kinds[i % len(kinds)], *_document(kinds[i % len(kinds)], 1000 + i, args.small_paragraphs, small_rng))
        for i in range(args.documents if args.small_paragraphs else 0)
    ]
    dims = int(settings.EMBEDDING_DIMENSIONS)
    print(
        f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"corpus: {len(corpus)} documents ({', '.join(kinds)}), {total_bytes / 1e6:.1f} MB; "
        f"chunking {settings.DOCUMENTS_CHUNK_TOKENS} tokens / overlap {settings.DOCUMENTS_CHUNK_OVERLAP_TOKENS}; "
        f"embedding {', '.join(embedders)} ({dims} dims), batch {settings.DOCUMENTS_EMBED_BATCH_SIZE}; "
        f"{args.runs} runs, medians"
    )
    storages = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}

    def in_memory() -> Any:
        return override_settings(STORAGES=storages, DOCUMENTS_MAX_PER_ORG=10**7, DOCUMENTS_MAX_BYTES_PER_ORG=10**12)

    bench = Bench(args)
    results: dict[str, list[float]] = defaultdict(list)
    per_kind: dict[str, list[float]] = defaultdict(list)
    worker = None
    if not args.no_worker:
        log = ROOT / "var" / "bench-ingest-worker.log"
        log.parent.mkdir(exist_ok=True)
        worker = _worker(log)
    try:
        client = Client()
        current_app.conf.task_always_eager = True
        with in_memory():
            for embedder in embedders:  # first use loads code (and the local model): not part of any run
                bench.in_process(corpus[:5], embedder)
            statements = bench.statements(corpus)
            bench.cleanup()
        current_app.conf.task_always_eager = False
        if worker is not None:  # the worker's first task also imports everything: not part of any run
            for embedder in embedders:
                bench.burst(client, 1, embedder)
            bench.cleanup()
        for run in range(args.runs):
            line = f"run {run + 1}:"
            for embedder in embedders:
                label = "" if embedder == "offline" else f" ({embedder})"
                current_app.conf.task_always_eager = True
                with in_memory():
                    measured = bench.in_process(corpus, embedder)
                    copy_seconds = bench.raw_copy(measured["org"], measured["rows"])
                    per_document_seconds = bench.raw_copy_per_document(measured["org"], measured["rows"])
                    shares = bench.copy_shares(measured["org"], measured["rows"]) if embedder == embedders[0] else {}
                current_app.conf.task_always_eager = False
                rate = measured["chunks"] / measured["seconds"]
                per_chunk = 1000 / max(measured["chunks"], 1)
                staged = 0.0
                for function, seconds in measured["stages"].items():
                    results[f"in-process ms per chunk: {STAGE_NAMES[function]}{label}"].append(seconds * per_chunk)
                    staged += seconds
                write_rest = measured["write_stage"] - measured["copy"]
                results[f"in-process ms per chunk: write, COPY{label}"].append(measured["copy"] * per_chunk)
                results[f"in-process ms per chunk: write, the rest and commit{label}"].append(write_rest * per_chunk)
                results[f"in-process ms per chunk: upload, dispatch, events{label}"].append(
                    (measured["seconds"] - staged - measured["write_stage"]) * per_chunk
                )
                for variant, ms in shares.items():
                    results[f"raw COPY ms per chunk, {variant}"].append(ms)
                results[f"in-process chunks/s{label}"].append(rate)
                results[f"write stage / raw COPY{label}"].append(measured["write_stage"] / copy_seconds)
                results[f"write stage / raw COPY a document at a time{label}"].append(
                    measured["write_stage"] / per_document_seconds
                )
                if embedder == embedders[0]:
                    results["chunks"].append(measured["chunks"])
                    results["write stage s"].append(measured["write_stage"])
                    results["copy in write stage s"].append(measured["copy"])
                    results["raw COPY s"].append(copy_seconds)
                    results["raw COPY chunks/s (the physical limit)"].append(measured["chunks"] / copy_seconds)
                    results["raw COPY a document at a time (one transaction each) chunks/s"].append(
                        measured["chunks"] / per_document_seconds
                    )
                    for kind, seconds in measured["per_kind"].items():
                        per_kind[kind].append(seconds)
                line += (
                    f" [{embedder}] in-process {measured['ready']}/{len(corpus)} ready, {measured['chunks']} chunks in "
                    f"{measured['seconds']:.1f} s ({rate:.0f} chunks/s); write stage {measured['write_stage']:.2f} s "
                    f"(COPY {measured['copy']:.2f} s), raw COPY {copy_seconds:.2f} s"
                )
                if worker is not None:
                    api = bench.real_path(corpus, client, embedder)
                    results[f"real path chunks/s{label}"].append(api["chunks"] / api["seconds"])
                    results[f"real path documents per task{label}"].append(api["per_task"])
                    line += f"; real path {api['chunks'] / api['seconds']:.0f} chunks/s ({api['seconds']:.1f} s)"
                    if small_corpus and embedder == "offline":
                        small = bench.real_path(small_corpus, client, embedder)
                        name = f"real path, {len(small_corpus)} documents of {args.small_paragraphs} paragraphs"
                        results[f"{name}: chunks/s"].append(small["chunks"] / small["seconds"])
                        results[f"{name}: ms per document"].append(1000 * small["seconds"] / len(small_corpus))
                        results[f"{name}: documents per task"].append(small["per_task"])
                        line += f"; small documents through the real path {small['seconds']:.1f} s"
                if not args.no_peer and embedder == "offline":
                    for same_work in (False, True):
                        peer = _langchain(corpus, dims, docent_indexes=same_work)
                        if peer is None:
                            break
                        variant = " + Docent's HNSW and postings" if same_work else ""
                        peer_rate = peer["chunks"] / peer["seconds"]
                        results[f"LangChain{variant} chunks/s"].append(peer_rate)
                        results[f"Docent / LangChain{variant} (in-process)"].append(rate / peer_rate)
                        # The two split the same files into different numbers of chunks: also by time for the corpus.
                        results[f"Docent / LangChain{variant} (in-process), corpus time"].append(
                            peer["seconds"] / measured["seconds"]
                        )
                        if worker is not None:
                            results[f"Docent / LangChain{variant} (real path)"].append(
                                results["real path chunks/s"][-1] / peer_rate
                            )
                        steps = ", ".join(f"{k} {v:.1f} s" for k, v in peer["steps"].items())
                        line += f"; LangChain{variant} {peer['chunks']} chunks in {peer['seconds']:.1f} s ({steps})"
                bench.cleanup()
            if worker is not None:
                burst = bench.burst(client, args.burst)
                results[f"burst of {args.burst}: all ready after, s"].append(burst["seconds"])
                results[f"burst of {args.burst}: accepted by the API after, s"].append(burst["accepted"])
                results[f"burst of {args.burst}: last ready after the last accepted, s"].append(
                    burst["seconds"] - burst["accepted"]
                )
                for stage in ("in line (fair dispatch)", "broker to worker", "indexing"):
                    results[f"burst: {stage} per document, median ms"].append(burst[stage])
                line += f"; burst of {args.burst}: all ready after {burst['seconds']:.1f} s"
                bench.cleanup()
            print(line, flush=True)
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        for paragraphs in sizes:
            sized = [
                (kind, *_document(kind, i, paragraphs, rng))
                for i, kind in enumerate(kinds * max(1, args.size_documents // len(kinds)))
            ]
            for _ in range(args.runs):
                current_app.conf.task_always_eager = True
                with in_memory():
                    measured = bench.in_process(sized)
                    copy_seconds = bench.raw_copy(measured["org"], measured["rows"])
                current_app.conf.task_always_eager = False
                per_document = measured["chunks"] // len(sized)
                name = f"size {paragraphs:>3} paragraphs ({per_document} chunks/doc)"
                rate = measured["chunks"] / measured["seconds"]
                results[f"{name} in-process chunks/s"].append(rate)
                results[f"{name} ms per document"].append(1000 * measured["seconds"] / len(sized))
                results[f"{name} write stage / raw COPY"].append(measured["write_stage"] / copy_seconds)
                if not args.no_peer and "offline" in embedders:
                    for same_work in (False, True):
                        peer = _langchain(sized, dims, docent_indexes=same_work)
                        if peer is None:
                            break
                        variant = " + HNSW, postings" if same_work else ""
                        results[f"{name} Docent / LangChain{variant}"].append(rate / (peer["chunks"] / peer["seconds"]))
                bench.cleanup()
    finally:
        bench.cleanup()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
    print()
    print(
        f"one small document, upload to ready: {statements['statements']:.0f} SQL statements, "
        f"{statements['transactions']:.0f} transactions of which {statements['durable commits']:.0f} wait for the disk"
    )
    print(f"broker of the real path: {settings.CELERY_BROKER_URL} (worker -c 2); medians of {args.runs} runs")
    for name, values in results.items():
        print(f"  {name:66} {_median(values):10.2f}   ({', '.join(f'{v:.2f}' for v in values)})")
    print("  seconds per format, in-process: " + ", ".join(f"{k} {_median(v):.1f}" for k, v in per_kind.items()))
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        "targets: write stage <= 1.5x raw COPY; Docent >= 3x LangChain; >= 1,000 chunks/s in-process (offline); "
        f"a burst of {args.burst} small documents ready in a few seconds"
    )
    limit = _median(results.get("raw COPY chunks/s (the physical limit)", []))
    if limit == limit:  # measured (not NaN)
        text = (
            f"the physical limit: the raw COPY of the same rows alone (no extraction, chunking or embedding) writes "
            f"{limit:,.0f} chunks/s into the chunk table; the in-process target of 1,000 chunks/s is "
            f"{1000 / limit:.2f}x that"
        )
        langchain = _median(results.get("LangChain chunks/s", []))
        if langchain == langchain:
            text += f", 3x LangChain ({3 * langchain:,.0f} chunks/s) {3 * langchain / limit:.2f}x"
        budget = 1.0 - 1000 / limit  # ms a chunk left for everything but the write, at 1,000 chunks/s
        text += (
            f"; at or above 1x no pipeline writing this table can reach it, under it what is left for everything but "
            f"the write is {budget:.2f} ms a chunk"
        )
        per_document = _median(results.get("raw COPY a document at a time (one transaction each) chunks/s", []))
        if per_document == per_document:
            text += f" (written a document at a time, as documents arrive: {per_document:,.0f} chunks/s)"
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
