"""The cluster suite's fixtures: one `make cluster` (2 replicas behind HAProxy, 2 workers, beat, a Redis of its own,
the production settings) for the session, a loopback provider that answers slowly, and an organization seeded in
the cluster's database.

`make test` runs the cross-replica tests (test_cluster.py); the faults (test_faults.py: killing replicas, workers
and Redis) run with `make test-cluster` (CLUSTER_FAULTS=1). Without haproxy and redis-server (and no way to
install them: not root) the suite is skipped, saying which command installs them; in CI a skip is a failure, and
the workflow installs both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.cluster.clients import Visitor
from tests.cluster.harness import Cluster, start_cluster, tools_missing, wait_for

# Short enough for bounded tests; the production values are in config/settings/base.py and docs/scaling.md.
CLUSTER_ENV = {
    "DOCUMENTS_LEASE_SECONDS": "4",
    "DOCUMENTS_HEARTBEAT_SECONDS": "1",
    "DOCUMENTS_SWEEP_INTERVAL_SECONDS": "1",
    "DOCUMENTS_TEST_STAGE_DELAY": "0.3",
    "CHAT_TURN_ORPHAN_SECONDS": "3",
    "CHAT_ORPHAN_SWEEP_SECONDS": "1",
    "CHAT_PARTIAL_SAVE_SECONDS": "0.2",
    "PROVIDER_ALLOW_PRIVATE_NETWORKS": "true",  # the loopback provider
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CLUSTER_FAULTS"):
        return
    faults = [item for item in items if item.get_closest_marker("cluster_faults")]
    if faults:
        config.hook.pytest_deselected(items=faults)
        items[:] = [item for item in items if not item.get_closest_marker("cluster_faults")]


@pytest.fixture(scope="session")
def provider() -> Iterator[Any]:
    """An OpenAI-compatible server on loopback that streams its 60-word reply a word every 80 ms."""
    from apps.chatbot_provider.tests.loopback import Behaviour, LoopbackServer

    server = LoopbackServer().start()
    server.state.reply = " ".join(f"Employees get 25 days of paid vacation per year [1], word {i}." for i in range(6))
    server.state.default = Behaviour(token_delay=0.08)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    missing = tools_missing()
    if missing:
        pytest.skip(missing)
    running = start_cluster(tmp_path_factory.mktemp("cluster"), env=CLUSTER_ENV)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def seeded(cluster: Cluster, provider: Any) -> dict[str, Any]:
    """An organization with an owner and a member, a room, a collection with one document indexed by the
    cluster's workers, an offline bot and a bot on the slow loopback provider, and API keys."""
    data = cluster.seed("--provider-url", provider.openai_base_url)
    headers = {"Authorization": f"Bearer {data['key']['key']}"}

    def indexed() -> bool:
        response = httpx.get(f"{cluster.url}/api/v1/documents/{data['documents'][0]}", headers=headers, timeout=10)
        return response.status_code == 200 and response.json()["status"] == "ready"

    wait_for(indexed, timeout=90, what="the seeded document to be indexed")
    return data


def api_headers(data: dict[str, Any], key: str = "key") -> dict[str, str]:
    return {"Authorization": f"Bearer {data[key]['key']}"}


def member_headers(data: dict[str, Any], who: str = "owner") -> dict[str, str]:
    return {"Authorization": f"Bearer {data[who]['jwt']}", "X-Organization": data["organization"]}


def widget_handoff(cluster: Cluster, seeded: dict[str, Any]) -> tuple[Visitor, Callable[[str, str], None]]:
    """A widget visitor (session opened through replica 1) whose conversation the seeded member has claimed, and
    `reply(base_url, text)`: the member's reply written through that base URL."""
    widget, agent = seeded["widget"], member_headers(seeded, "member")
    visitor = Visitor(cluster.replica_urls[0], widget["key"], widget["origin"])
    asked = visitor.post(cluster.replica_urls[0], "/widget/v1/handoff")
    assert asked.status_code == 200, asked.text
    handoff = f"/api/v1/handoffs/{asked.json()['conversation']['id']}"
    claimed = httpx.post(f"{cluster.replica_urls[1]}{handoff}/claim", headers=agent, timeout=10)
    assert claimed.status_code == 200, claimed.text

    def reply(base_url: str, text: str) -> None:
        sent = httpx.post(f"{base_url}{handoff}/messages", headers=agent, json={"text": text}, timeout=10)
        assert sent.status_code == 201, sent.text

    return visitor, reply
