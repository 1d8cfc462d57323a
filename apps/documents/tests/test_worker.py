"""A worker killed in the middle of a document loses nothing: its lease lapses, the sweep re-queues the
document and the next worker finishes it; a live worker's document is never taken from it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import Celery
from django.core.files.base import ContentFile
from django.db import connection

from apps.documents.models import Document, DocumentStage, DocumentStatus
from apps.documents.services import pipeline
from apps.documents.services.queue import INDEX_TASK
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.tests.factories import OrganizationFactory

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = connection.settings_dict
    host = quote(str(db["HOST"] or "127.0.0.1"), safe="")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker(tmp_path: Path, *, delay: float, beat: bool, **settings: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.worker_test",
        "DATABASE_URL": _database_url(),
        "DOCENT_TEST_WORKER_DIR": str(tmp_path),
        "DOCUMENTS_TEST_STAGE_DELAY": str(delay),
        **settings,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool",
        "solo",
        "-l",
        "warning",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if beat:
        command += ["-B", "--schedule", str(tmp_path / "beat-schedule")]
    log = (tmp_path / f"worker-{time.monotonic_ns()}.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _queued_document(tmp_path: Path, settings, *, paragraphs: int = 200) -> Document:
    for sub in ("broker", "processed", "media"):
        (tmp_path / sub).mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    organization = OrganizationFactory()
    collection = CollectionFactory(organization=organization)
    document = Document(
        organization=organization,
        collection=collection,
        source="text",
        title="Compressor notes",
        mime_type="text/plain",
        status=DocumentStatus.QUEUED,
    )
    text = " ".join(
        f"Compressor stage {i} raises the pressure of the air before combustion." for i in range(paragraphs)
    )
    document.file.save("x", ContentFile(text.encode()), save=False)
    document.save()

    sender = Celery("test-sender", broker="filesystem://", set_as_current=False)
    sender.conf.broker_transport_options = {
        "data_folder_in": str(tmp_path / "broker"),
        "data_folder_out": str(tmp_path / "broker"),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
    }
    sender.send_task(INDEX_TASK, kwargs={"organization_id": str(organization.pk), "document_id": str(document.pk)})
    return document


def test_a_document_survives_a_worker_killed_mid_indexing(tmp_path, settings):
    document = _queued_document(tmp_path, settings)
    first = _worker(tmp_path, delay=2.0, beat=False)
    try:
        _wait_for(
            lambda: (
                Document.objects.unscoped().get(pk=document.pk).stage
                in (DocumentStage.EXTRACTING, DocumentStage.CHUNKING)
            ),
            90,
            "the first worker to start indexing",
        )
        assert Document.objects.unscoped().get(pk=document.pk).status == DocumentStatus.PROCESSING
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    killed = Document.objects.unscoped().get(pk=document.pk)
    assert killed.status == DocumentStatus.PROCESSING
    assert killed.lease_expires_at is not None

    # Only the lapsed lease can hand it over: the idle deadline of rows without a lease is an hour away.
    second = _worker(tmp_path, delay=0.0, beat=True)
    try:
        _wait_for(
            lambda: (
                Document.objects.unscoped().get(pk=document.pk).status in (DocumentStatus.READY, DocumentStatus.FAILED)
            ),
            120,
            "the document to be finished by the second worker",
        )
    finally:
        _stop(second)
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY, (document.error_code, document.error_message)
    assert document.attempts == 2
    assert document.chunk_count >= 2
    assert document.chunks.count() == document.chunk_count
    assert document.lease_owner != killed.lease_owner


def test_a_document_whose_worker_is_alive_is_not_requeued(tmp_path, settings):
    # Every stage takes longer than the lease: only the heartbeat keeps the document with its worker.
    document = _queued_document(tmp_path, settings, paragraphs=60)
    worker = _worker(tmp_path, delay=1.5, beat=False, DOCUMENTS_LEASE_SECONDS="1.0", DOCUMENTS_HEARTBEAT_SECONDS="0.2")
    leases = set()
    try:
        _wait_for(
            lambda: Document.objects.unscoped().get(pk=document.pk).status == DocumentStatus.PROCESSING,
            90,
            "the worker to claim the document",
        )
        while (current := Document.objects.unscoped().get(pk=document.pk)).status == DocumentStatus.PROCESSING:
            assert pipeline.documents_requeue_stuck() == 0
            leases.add(current.lease_expires_at)
            time.sleep(0.3)
    finally:
        _stop(worker)
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY, (document.error_code, document.error_message)
    assert document.attempts == 1
    assert len(leases) > 3  # renewed all along
