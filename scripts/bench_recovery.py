"""`make bench-recovery`: how long a document waits when the worker indexing it is killed.

Starts the `make run` stack (scripts/run.py: uvicorn, a Celery worker, Celery beat, the filesystem broker,
the embedded PostgreSQL) on its own port, queues a large text document in a fresh organization, kills the
worker with SIGKILL in the middle of its embedding stage, and measures the time from the kill to the document
being ready (the supervisor restarts the worker, the lease lapses, the sweep re-queues the document, the new
worker indexes it). Repeats `--runs` times on the same stack, then stops it and deletes the organization.

Usage: scripts/bench_recovery.py [--runs 5] [--paragraphs 1500]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
PORT = os.environ.get("BENCH_PORT", "8047")
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
]


def _text(paragraphs: int, salt: int) -> str:
    lines = [f"Run {salt}."]
    for i in range(paragraphs):
        words = [WORDS[(i * 7 + j * 3 + salt) % len(WORDS)] for j in range(60)]
        lines.append(f"Paragraph {i}: " + " ".join(words) + ".")
    return "\n\n".join(lines)


def _wait(predicate, timeout: float, what: str, interval: float = 0.25) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def _worker_pid(log: Path) -> int:
    pids = re.findall(r"worker (?:started|restarted) \(pid (\d+)", log.read_text(errors="replace"))
    return int(pids[-1])


def _healthy() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--paragraphs", type=int, default=1500)
    args = parser.parse_args()

    log = ROOT / "var" / "bench-recovery-run.log"
    log.parent.mkdir(exist_ok=True)
    env = {**os.environ, "PORT": PORT}
    with log.open("wb") as out:
        stack = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run.py")], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    organization = None
    try:
        _wait(_healthy, 240, "the stack to serve /healthz", interval=1.0)

        import django

        django.setup()
        from django.conf import settings

        from apps.documents.models import Document, DocumentStage, DocumentStatus
        from apps.documents.services import documents as document_services
        from apps.organizations.actors import Actor
        from apps.organizations.models import Organization

        organization = Organization.objects.create(name="Recovery benchmark", slug=f"bench-recovery-{time.time_ns()}")
        actor = Actor.system(organization=organization, label="bench")
        collection = document_services.collection_create(organization=organization, actor=actor, name="Bench")

        def queue(salt: int) -> Document:
            created = document_services.document_create_from_text(
                collection=collection, actor=actor, title=f"Recovery {salt}", text=_text(args.paragraphs, salt)
            )
            return created.document

        def status(document: Document) -> Document:
            return Document.objects.for_org(organization).get(pk=document.pk)

        print(
            f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        print(
            f"stack: scripts/run.py (uvicorn, celery worker -c 2, celery beat), broker {settings.CELERY_BROKER_URL}; "
            f"lease {settings.DOCUMENTS_LEASE_SECONDS:g} s, heartbeat {settings.DOCUMENTS_HEARTBEAT_SECONDS:g} s, "
            f"sweep every {settings.DOCUMENTS_SWEEP_INTERVAL_SECONDS:g} s"
        )
        warm = queue(0)
        t0 = time.monotonic()
        _wait(lambda: status(warm).status == DocumentStatus.PROCESSING, 120, "the worker to take the document")
        t1 = _wait(lambda: status(warm).status == DocumentStatus.READY, 600, "the document to be ready")
        print(f"document: {status(warm).chunk_count} chunks; indexing without a kill: {t1 - t0:.1f} s")

        figures = []
        rng = random.Random(8)
        for run in range(1, args.runs + 1):
            # Kill at a random moment of the sweep's cycle: right after a document became ready (which happens
            # at a sweep) the next kill would always fall at the same point of it.
            time.sleep(rng.uniform(0, float(settings.DOCUMENTS_SWEEP_INTERVAL_SECONDS)))
            document = queue(run)
            _wait(
                lambda document=document: (d := status(document)).stage == DocumentStage.EMBEDDING and d.progress >= 40,
                300,
                "the embedding stage",
                interval=0.05,
            )
            pid = _worker_pid(log)
            killed = status(document)
            os.kill(pid, signal.SIGKILL)
            t_kill = time.monotonic()
            t_requeued = _wait(
                lambda document=document: status(document).status != DocumentStatus.PROCESSING,
                600,
                "the sweep to re-queue the document",
            )
            t_ready = _wait(
                lambda document=document: status(document).status in (DocumentStatus.READY, DocumentStatus.FAILED),
                600,
                "the document to be ready",
            )
            final = status(document)
            figures.append(t_ready - t_kill)
            print(
                f"run {run}: killed worker pid {pid} at {killed.stage} {killed.progress} %; "
                f"re-queued after {t_requeued - t_kill:.1f} s; {final.status} after {t_ready - t_kill:.1f} s "
                f"(attempts {final.attempts})"
            )
        print(
            f"kill → ready: median {statistics.median(figures):.1f} s "
            f"(min {min(figures):.1f}, max {max(figures):.1f}, {len(figures)} runs)"
        )
        beats = subprocess.run(
            ["pgrep", "-f", f"{ROOT}/.venv/bin/celery -A config beat"], capture_output=True, text=True, check=False
        ).stdout.split()
        print(f"beat processes: {len(beats)}; web answering: {_healthy()}")
        print("supervisor:")
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("[run "):
                print(f"  {line}")
    finally:
        if organization is not None:
            organization.delete()
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
