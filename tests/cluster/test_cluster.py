"""Docent across replicas: two uvicorn replicas behind HAProxy, two Celery workers, one Redis, one PostgreSQL,
under the production settings. Each test talks to the replicas directly (replica 1, replica 2) or through the
balancer, as a client would."""

from __future__ import annotations

import uuid

import httpx

from tests.cluster.clients import Member
from tests.cluster.conftest import api_headers, member_headers, widget_handoff
from tests.cluster.harness import wait_for


def test_a_socket_on_one_replica_receives_a_message_sent_through_another(cluster, seeded):
    one, two = cluster.replica_urls
    owner = Member(one, seeded["owner"]["jwt"], seeded["organization"])
    member = Member(two, seeded["member"]["jwt"], seeded["organization"])
    try:
        text = f"deploy at noon? {uuid.uuid4().hex[:6]}"
        sent = member.say(seeded["room"], text)

        got = owner.wait(lambda f: f["type"] == "message.new" and f["message"]["text"] == text)
        assert got["message"]["seq"] == sent["seq"]
        assert got["message"]["sender"] == {"kind": "user", "id": seeded["member"]["id"]}
    finally:
        owner.close()
        member.close()


def test_a_widget_visitor_reconnecting_to_another_replica_resumes_without_gaps(cluster, seeded):
    one, two = cluster.replica_urls
    visitor, reply = widget_handoff(cluster, seeded)

    def created(frame: dict) -> bool:
        return frame["type"] == "message.created"

    socket = visitor.connect(one)
    reply(two, "Hello, Sam here.")  # live: written through replica 2, rung to the socket on replica 1
    last_seq = socket.wait(lambda f: created(f) and f["message"]["text"] == "Hello, Sam here.")["seq"]
    socket.close()

    missed = [f"While you were away, {i}." for i in range(3)]
    for text in missed:
        reply(two, text)
    socket = visitor.connect(two)
    socket.send({"type": "resume", "after_seq": last_seq})
    assert socket.wait(lambda f: f["type"] == "conversation.state")["state"] == "with_agent"
    reply(one, "Welcome back.")  # after the resume: rung from replica 1 to the socket now on replica 2
    frames: list[dict] = []
    socket.wait(lambda f: created(f) and bool(frames.append(f) or f["message"]["text"] == "Welcome back."))
    socket.close()

    delivered = [(f["seq"], f["message"]["role"], f["message"]["text"]) for f in frames]
    texts = [*missed, "Welcome back."]
    assert delivered == [(last_seq + 1 + i, "agent", text) for i, text in enumerate(texts)]


def test_a_key_s_rate_limit_counts_its_requests_on_every_replica_together(cluster, seeded):
    headers = api_headers(seeded, "rate_limited_key")  # ten requests a minute
    statuses = [
        httpx.get(f"{cluster.replica_urls[i % 2]}/api/v1/bots", headers=headers, timeout=10).status_code
        for i in range(16)
    ]
    assert statuses.count(200) == 10, statuses
    assert set(statuses[10:]) == {429}


def test_a_key_s_daily_quota_holds_across_replicas(cluster, seeded):
    headers = api_headers(seeded, "quota_key")  # six requests a day
    answers = [httpx.get(f"{cluster.replica_urls[i % 2]}/api/v1/bots", headers=headers, timeout=10) for i in range(9)]
    assert [a.status_code for a in answers] == [200] * 6 + [429] * 3
    assert answers[-1].json()["error"]["code"] == "quota_exceeded"


def test_uploads_through_either_replica_are_indexed_by_the_workers(cluster, seeded):
    headers = api_headers(seeded)
    created = []
    for i, base in enumerate(cluster.replica_urls * 2):
        response = httpx.post(
            f"{base}/api/v1/collections/{seeded['collection']}/documents",
            headers=headers,
            files={"files": (f"note-{i}.txt", f"Note {i}: the boiler is serviced every {i + 2} months.\n".encode())},
            timeout=20,
        )
        assert response.status_code == 202, response.text
        created += [document["id"] for document in response.json()["documents"]]

    def all_ready() -> list[dict] | None:
        documents = [
            httpx.get(f"{cluster.url}/api/v1/documents/{pk}", headers=headers, timeout=10).json() for pk in created
        ]
        return documents if all(d["status"] == "ready" for d in documents) else None

    documents = wait_for(all_ready, timeout=90, interval=0.5, what="the uploads to be indexed")
    assert len(documents) == 4 and all(d["chunk_count"] >= 1 for d in documents)


def test_a_revoked_key_is_refused_by_every_replica_on_its_next_request(cluster, seeded):
    owner = member_headers(seeded)
    created = httpx.post(
        f"{cluster.url}/api/v1/api-keys", headers=owner, json={"name": "soon revoked", "scopes": ["bots:read"]}
    )
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    for base in cluster.replica_urls:  # each replica has the key's snapshot cached
        assert httpx.get(f"{base}/api/v1/bots", headers=key, timeout=10).status_code == 200

    revoked = httpx.post(f"{cluster.replica_urls[0]}/api/v1/api-keys/{created.json()['id']}/revoke", headers=owner)
    assert revoked.status_code == 200, revoked.text

    for base in reversed(cluster.replica_urls):
        refused = httpx.get(f"{base}/api/v1/bots", headers=key, timeout=10)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "authentication_failed"
