"""A real Celery worker sends deliveries: a 500 comes back through the broker as a delayed retry, in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from apps.documents.tests.test_worker import _database_url, _wait_for
from apps.organizations.actors import Actor
from apps.organizations.tests.factories import OrganizationFactory
from apps.webhooks import services
from apps.webhooks.models import DeliveryStatus, WebhookDelivery
from apps.webhooks.queue import DRAIN_TASK
from apps.webhooks.tests.receiver import Answer
from common.events import DomainEvent

ROOT = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _worker(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.worker_test",
        "DATABASE_URL": _database_url(),
        "DOCENT_TEST_WORKER_DIR": str(tmp_path),
        "WEBHOOK_RETRY_DELAYS_SECONDS": "1,1,1,1",
        "WEBHOOK_RETRY_JITTER": "0",
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-l", "warning"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    log = (tmp_path / "worker.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_a_worker_retries_after_a_500_through_the_broker_and_keeps_the_order(tmp_path, receiver, monkeypatch):
    for sub in ("broker", "processed", "control"):
        (tmp_path / sub).mkdir()
    monkeypatch.setattr("apps.webhooks.queue.drain_now", lambda **kwargs: None)  # the worker sends, not the test
    organization = OrganizationFactory()
    issued = services.webhook_endpoint_create(
        organization=organization,
        actor=Actor.system(organization=organization),
        url=receiver.url,
        event_types=["document.ready"],
    )
    receiver.secrets.append(issued.secret)
    receiver.script = [Answer(status=500)]
    events = [
        DomainEvent(type="document.ready", organization_id=str(organization.pk), payload={"n": n}) for n in (1, 2)
    ]
    for event in events:
        services.webhook_event_record(event=event)

    sender = Celery("test-sender", broker="filesystem://", set_as_current=False)
    sender.conf.broker_transport_options = {
        "data_folder_in": str(tmp_path / "broker"),
        "data_folder_out": str(tmp_path / "broker"),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
    }
    sender.send_task(
        DRAIN_TASK, kwargs={"organization_id": str(organization.pk), "endpoint_id": str(issued.endpoint.pk)}
    )
    worker = _worker(tmp_path)
    try:
        _wait_for(lambda: len(receiver.received) >= 3, 90, "the worker to retry and send both deliveries")
        time.sleep(0.5)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    assert receiver.message_ids == [f"msg_{events[0].id}", f"msg_{events[0].id}", f"msg_{events[1].id}"]
    assert [json.loads(r.body)["data"]["n"] for r in receiver.received] == [1, 1, 2]
    assert all(r.verified for r in receiver.received)
    deliveries = WebhookDelivery.objects.for_org(organization).order_by("sequence")
    assert [(d.status, d.attempt_count) for d in deliveries] == [
        (DeliveryStatus.SUCCEEDED, 2),
        (DeliveryStatus.SUCCEEDED, 1),
    ]
