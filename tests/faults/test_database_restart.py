"""The database goes away under a running server and comes back: every connection is cut and new ones are
refused for a while, as during a PostgreSQL restart (done to this test's database only, so the other test
processes sharing the server are not disturbed).

What a client sees: 503 `service_unavailable` while the database is away (never a 500, never a hang), then
normal answers from the same server process, its pooled connections replaced, nothing written lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from django.db import connection

from apps.api_keys.tests.factories import APIKeyFactory
from apps.documents.models import Document
from apps.documents.tests.factories import CollectionFactory
from tests.faults.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def _settings_json() -> str:
    keys = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")
    return json.dumps({key: connection.settings_dict.get(key) for key in keys})


@contextmanager
def _server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.server_settings",
        "DOCENT_FAULT_DATABASE": _settings_json(),
    }
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--no-access-log"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # start-up, not a measurement
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {log_path.read_text()}")
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def _database_away() -> Iterator[None]:
    """Cut every connection to this test's database but the test's own, and refuse new ones until the end."""
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_pid = cursor.fetchone()[0]
    params = {**connection.get_connection_params(), "dbname": "postgres", "autocommit": True}
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [name, own_pid],
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def test_the_api_answers_503_while_the_database_is_away_and_recovers_without_a_restart(tmp_path, organization):
    key = APIKeyFactory(organization=organization)
    collection = CollectionFactory(organization=organization)
    with _server(tmp_path) as base, httpx.Client(base_url=base, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {key.plaintext}"
        assert client.get("/api/v1/collections").status_code == 200  # the pool holds live connections now

        with _database_away():
            during = client.get("/api/v1/documents")
            assert during.status_code == 503, during.text
            assert during.json()["error"]["code"] == "service_unavailable"
            assert int(during.headers["Retry-After"]) > 0
            openai_door = client.get("/openai/v1/models")  # the same outage in OpenAI's error shape
            assert openai_door.status_code == 503, openai_door.text
            assert openai_door.json()["error"]["type"] == "server_error"

        # Back: the same process answers again as soon as its pool has reconnected (a few seconds at most).
        statuses = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses.append(client.get("/api/v1/documents").status_code)
            if statuses[-1] == 200:
                break
            time.sleep(0.2)
        assert statuses[-1] == 200, statuses
        assert set(statuses) <= {200, 503}, statuses

        created = client.post(
            f"/api/v1/collections/{collection.pk}/documents/text",
            json={"title": "After the restart", "text": "The database came back and this was kept."},
        )
        assert created.status_code == 202, created.text
        listed = client.get("/api/v1/documents").json()["results"]
        assert [d["title"] for d in listed] == ["After the restart"]
    assert Document.objects.unscoped().filter(organization=organization).count() == 1
