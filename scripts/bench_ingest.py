"""`make bench-ingest`: chunks per second through the real pipeline (upload service → indexing task →
extract → chunk → offline embeddings → bulk insert) for a generated corpus of PDF, DOCX, HTML, Markdown
and plain-text documents. Runs in a fresh organization of the dev database that is deleted afterwards.

Usage: scripts/bench_ingest.py [--documents 120] [--paragraphs 30]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=120)
    parser.add_argument("--paragraphs", type=int, default=30)
    args = parser.parse_args()

    import django

    django.setup()
    from celery import current_app
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test.utils import override_settings

    from apps.documents.models import Document, DocumentStatus
    from apps.documents.services import documents as document_services
    from apps.organizations.actors import Actor
    from apps.organizations.models import Organization

    call_command("migrate", verbosity=0)
    logging.getLogger("celery").setLevel(logging.WARNING)
    current_app.conf.task_always_eager = True  # the real task, in this process
    rng = random.Random(5)
    kinds = ["txt", "md", "html", "pdf", "docx"]
    corpus = [
        (kinds[i % len(kinds)], *_document(kinds[i % len(kinds)], i, args.paragraphs, rng))
        for i in range(args.documents)
    ]
    total_bytes = sum(len(content) for _, _, content in corpus)
    print(
        f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"corpus: {len(corpus)} documents ({', '.join(kinds)}), {total_bytes / 1e6:.1f} MB; "
        f"chunking {settings.DOCUMENTS_CHUNK_TOKENS} tokens / overlap {settings.DOCUMENTS_CHUNK_OVERLAP_TOKENS}; "
        f"embedding offline-hash-v1 ({settings.EMBEDDING_DIMENSIONS} dims), batch {settings.DOCUMENTS_EMBED_BATCH_SIZE}"
    )
    storages = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    with override_settings(STORAGES=storages, DOCUMENTS_MAX_PER_ORG=10**7, DOCUMENTS_MAX_BYTES_PER_ORG=10**12):
        organization = Organization.objects.create(name="Ingest benchmark", slug=f"bench-ingest-{time.time_ns()}")
        try:
            collection = document_services.collection_create(
                organization=organization, actor=Actor.system(organization=organization, label="bench"), name="Bench"
            )
            per_kind: dict[str, float] = defaultdict(float)
            started = time.perf_counter()
            for kind, name, content in corpus:
                t0 = time.perf_counter()
                document_services.document_create_from_uploads(
                    collection=collection,
                    actor=Actor.system(organization=collection.organization, label="bench"),
                    files=[SimpleUploadedFile(name, content)],
                )
                per_kind[kind] += time.perf_counter() - t0
            elapsed = time.perf_counter() - started
            documents = Document.objects.for_org(organization)
            ready = documents.filter(status=DocumentStatus.READY).count()
            chunk_counts = dict(documents.values_list("pk", "chunk_count"))
            chunks = sum(chunk_counts.values())
            tokens = sum(documents.values_list("token_count", flat=True))
            print(f"ready: {ready}/{len(corpus)}  chunks: {chunks:,}  tokens: {tokens:,}")
            print(
                f"elapsed: {elapsed:.1f} s  →  {chunks / elapsed:.1f} chunks/s, "
                f"{len(corpus) / elapsed:.2f} documents/s, "
                f"{tokens / elapsed:,.0f} tokens/s"
            )
            for kind in kinds:
                print(f"  {kind:5} {per_kind[kind]:6.1f} s")
        finally:
            organization.delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
