"""A worker killed in the middle of a document loses nothing: the next worker finishes it."""

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


def _worker(tmp_path: Path, *, delay: float, beat: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.worker_test",
        "DATABASE_URL": _database_url(),
        "DOCENT_TEST_WORKER_DIR": str(tmp_path),
        "DOCUMENTS_TEST_STAGE_DELAY": str(delay),
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


def test_a_document_survives_a_worker_killed_mid_indexing(tmp_path, settings):
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
    text = " ".join(f"Compressor stage {i} raises the pressure of the air before combustion." for i in range(200))
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
    assert Document.objects.unscoped().get(pk=document.pk).status == DocumentStatus.PROCESSING

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
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY, (document.error_code, document.error_message)
    assert document.attempts == 2
    assert document.chunk_count >= 2
    assert document.chunks.count() == document.chunk_count
