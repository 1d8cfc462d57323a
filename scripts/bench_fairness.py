"""`make bench-fairness`: how long one organization's lone document waits behind another's backlog.

Starts a real Celery worker (`-c 2`, the broker of the dev settings: the filesystem one under var/ unless
REDIS_URL answers), then, in fresh organizations: queues `--backlog` small documents for organization A in
one transaction (they land at once, as a bulk upload's do), then one for organization B, and measures B's
wait from being queued to being ready, and how much of A's backlog was still waiting at that moment. Once
with the dispatcher off (DOCUMENTS_DISPATCH_MAX_IN_FLIGHT=0: every document sent at once, first come first
served, as before) and once with the default fair dispatcher, `--runs` times each. The organizations are
deleted afterwards.

Usage: scripts/bench_fairness.py [--backlog 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
BIN = Path(sys.executable).parent


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _worker(limit: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DOCUMENTS_DISPATCH_MAX_IN_FLIGHT": str(limit)}
    command = [str(BIN / "celery"), "-A", "config", "worker", "-l", "warning", "-c", "2", "--without-gossip"]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backlog", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction
    from django.test.utils import override_settings

    from apps.documents.models import Document, DocumentStatus
    from apps.documents.services import documents as document_services
    from apps.organizations.actors import Actor
    from apps.organizations.models import Organization

    default_limit = int(settings.DOCUMENTS_DISPATCH_MAX_IN_FLIGHT)
    log = ROOT / "var" / "bench-fairness-worker.log"
    log.parent.mkdir(exist_ok=True)
    print(
        f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"worker: celery -c 2 on {settings.CELERY_BROKER_URL}; backlog: {args.backlog} documents from organization A, "
        f"then 1 from organization B; {args.runs} runs per mode"
    )

    def organization(label: str) -> tuple[Organization, Any, Actor]:
        org = Organization.objects.create(name=f"Fairness {label}", slug=f"bench-fairness-{label}-{time.time_ns()}")
        actor = Actor.system(organization=org, label="bench")
        return org, document_services.collection_create(organization=org, actor=actor, name="Bench"), actor

    def queue(collection: Any, actor: Actor, title: str) -> Document:
        text = f"{title}: the impeller is checked every six months and the seal every year. " * 20
        return document_services.document_create_from_text(
            collection=collection, actor=actor, title=title, text=text
        ).document

    def cleanup(org: Organization) -> None:
        org_id = str(org.pk)
        org.delete()
        shutil.rmtree(Path(settings.MEDIA_ROOT) / "documents" / org_id, ignore_errors=True)

    results: dict[str, list[tuple[float, int, float]]] = {}
    for mode, limit in (
        ("first come, first served (limit 0)", 0),
        (f"fair dispatch (limit {default_limit})", default_limit),
    ):
        worker = _worker(limit, log)
        created: list[Organization] = []
        try:
            with override_settings(DOCUMENTS_DISPATCH_MAX_IN_FLIGHT=limit):
                warm_org, warm_collection, warm_actor = organization("warm")
                created.append(warm_org)
                warm = queue(warm_collection, warm_actor, "Warm-up")
                _wait(
                    lambda warm=warm: Document.objects.unscoped().get(pk=warm.pk).status == DocumentStatus.READY,
                    180,
                    "the worker to start",
                )
                for _ in range(args.runs):
                    busy, busy_collection, busy_actor = organization("a")
                    quiet, quiet_collection, quiet_actor = organization("b")
                    created += [busy, quiet]
                    with transaction.atomic():  # the backlog lands at once, as a bulk upload's does
                        for i in range(args.backlog):
                            queue(busy_collection, busy_actor, f"Backlog {i}")
                    lone = queue(quiet_collection, quiet_actor, "Lone")
                    queued_at = time.monotonic()
                    _wait(
                        lambda lone=lone: Document.objects.unscoped().get(pk=lone.pk).status == DocumentStatus.READY,
                        900,
                        "the lone document",
                    )
                    waited = time.monotonic() - queued_at
                    left = Document.objects.for_org(busy).exclude(status=DocumentStatus.READY).count()
                    started = time.monotonic()
                    _wait(
                        lambda busy=busy: (
                            not Document.objects.for_org(busy)
                            .exclude(status__in=[DocumentStatus.READY, DocumentStatus.FAILED])
                            .exists()
                        ),
                        900,
                        "the backlog to drain",
                    )
                    drained = time.monotonic() - started + waited
                    results.setdefault(mode, []).append((waited, left, drained))
                    print(
                        f"  {mode}: B waited {waited:6.1f} s; A still waiting then: {left:4d}/{args.backlog}; "
                        f"A's backlog done after {drained:6.1f} s",
                        flush=True,
                    )
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
            for org in created:
                cleanup(org)
    print()
    print(f"{'mode':40} {'B waited (median)':>18} {'A waiting then':>15} {'A drained':>10}")
    for mode, rows in results.items():
        waited = statistics.median(r[0] for r in rows)
        still_waiting = statistics.median(r[1] for r in rows)
        drained = statistics.median(r[2] for r in rows)
        print(f"{mode:40} {waited:16.1f} s {still_waiting:15.0f} {drained:8.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
