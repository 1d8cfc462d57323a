"""Faults on a running cluster: a replica killed under requests, streams and sockets; a worker killed in the middle
of a document; Redis restarted. Nothing is lost and everything recovers by itself (the supervisor restarts what
died; clients only reconnect). Run by `make test-cluster`."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed

from tests.cluster.clients import Member, sse_events
from tests.cluster.conftest import api_headers, member_headers, widget_handoff
from tests.cluster.harness import wait_for

pytestmark = pytest.mark.cluster_faults

QUESTION = "How many vacation days do employees get per year?"


def _replica_back(cluster, name: str, old_pid: int) -> None:
    cluster.wait_restarted(name, old_pid)
    cluster.wait_replica_ready(int(name.rsplit("-", 1)[1]) - 1)


def test_reads_in_flight_when_a_replica_is_killed_are_retried_on_another_and_all_succeed(cluster, seeded):
    headers = member_headers(seeded)
    stop = threading.Event()
    outcomes: list[str] = []

    def reader() -> None:
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=15) as client:
            while not stop.is_set():
                try:
                    outcomes.append(str(client.get("/api/v1/bots").status_code))
                except httpx.HTTPError as error:
                    outcomes.append(type(error).__name__)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(reader)
        time.sleep(2)
        killed = cluster.kill("web-1")
        time.sleep(4)
        stop.set()
    failures = [o for o in outcomes if o != "200"]
    assert len(outcomes) > 20 and failures == [], f"{len(failures)} of {len(outcomes)} failed: {set(failures)}"
    _replica_back(cluster, "web-1", killed)


def test_an_answer_cut_off_by_its_replica_dying_is_saved_as_interrupted_with_what_was_said(cluster, seeded):
    headers = {**api_headers(seeded), "Accept": "text/event-stream"}
    received, ended_with = "", None
    with httpx.stream(
        "POST",
        f"{cluster.url}/api/v1/bots/{seeded['slow_bot']}/chat",
        headers=headers,
        json={"message": QUESTION},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        replica = response.headers["x-docent-replica"]
        try:
            for event, data in sse_events(response):
                ended_with = event
                if event == "token":
                    received += data["text"]
                    if len(received.split()) == 8:
                        killed = cluster.kill(replica)
        except httpx.HTTPError:
            ended_with = "cut"
    assert ended_with in {"cut", "token"}, "the stream should be cut, not finished"

    def saved_answer() -> dict | None:
        listing = httpx.get(
            f"{cluster.url}/api/v1/conversations", params={"bot": seeded["slow_bot"]}, headers=api_headers(seeded)
        ).json()["results"]
        conversation = listing[0]["id"]
        messages = httpx.get(
            f"{cluster.url}/api/v1/conversations/{conversation}/messages", headers=api_headers(seeded)
        ).json()["results"]
        last = messages[-1]
        return last if last["role"] == "assistant" else None

    answer = wait_for(saved_answer, timeout=30, interval=0.5, what="the cut-off answer to be saved")
    assert answer["status"] == "interrupted"
    assert answer["content"] and (answer["content"].startswith(received) or received.startswith(answer["content"]))
    _replica_back(cluster, replica, killed)


def test_a_socket_whose_replica_dies_reconnects_through_the_balancer_and_resumes_without_gaps(cluster, seeded):
    room = seeded["room"]
    owner = Member(cluster.replica_urls[1], seeded["owner"]["jwt"], seeded["organization"])
    member = Member(cluster.replica_urls[0], seeded["member"]["jwt"], seeded["organization"])
    last_seq = owner.hello["conversations"][room]
    killed = cluster.kill("web-2")
    with pytest.raises(ConnectionClosed):
        owner.wait(lambda frame: False, timeout=10)
    sent = [member.say(room, f"while you were away {i}")["seq"] for i in range(3)]

    owner = Member(cluster.url, seeded["owner"]["jwt"], seeded["organization"])
    owner.send({"type": "resume", "ref": "r1", "conversations": {room: last_seq}})
    replayed = []
    done = owner.wait(
        lambda frame: (
            frame["type"] == "resumed" or (frame["type"] == "message.new" and replayed.append(frame) and False)
        )
    )
    assert [frame["message"]["seq"] for frame in replayed] == list(range(last_seq + 1, sent[-1] + 1))
    assert done["conversations"][room] == sent[-1]
    owner.close()
    member.close()
    _replica_back(cluster, "web-2", killed)


def test_a_widget_visitor_whose_replica_dies_reconnects_through_the_balancer_and_resumes_without_gaps(cluster, seeded):
    visitor, reply = widget_handoff(cluster, seeded)
    socket = visitor.connect(cluster.replica_urls[1])
    reply(cluster.replica_urls[0], "Let me check your order.")
    last_seq = socket.wait(lambda f: f["type"] == "message.created")["seq"]
    killed = cluster.kill("web-2")
    with pytest.raises(ConnectionClosed):
        socket.wait(lambda frame: False, timeout=10)
    missed = [f"Found it, part {i}." for i in range(3)]
    for text in missed:
        reply(cluster.replica_urls[0], text)

    socket = visitor.connect(cluster.url)
    socket.send({"type": "resume", "after_seq": last_seq})
    frames: list[dict] = []
    socket.wait(
        lambda f: f["type"] == "message.created" and bool(frames.append(f) or f["message"]["text"] == missed[-1])
    )
    socket.close()
    assert [(f["seq"], f["message"]["text"]) for f in frames] == [(last_seq + 1 + i, t) for i, t in enumerate(missed)]
    _replica_back(cluster, "web-2", killed)


def _long_text(tag: str) -> str:
    sentence = "The pump's impeller is checked every six months and the intake screen is cleaned at the same visit. "
    return f"# Maintenance {tag}\n\n" + "\n\n".join(f"## Part {i}\n\n{sentence * 12}" for i in range(12))


def _upload(cluster, seeded, base: str, tag: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/collections/{seeded['collection']}/documents/text",
        headers=api_headers(seeded),
        json={"title": f"Maintenance {tag}", "text": _long_text(tag)},
        timeout=20,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _documents(cluster, seeded, ids: list[str]) -> list[dict]:
    return [httpx.get(f"{cluster.url}/api/v1/documents/{pk}", headers=api_headers(seeded)).json() for pk in ids]


def _assert_indexed_once(cluster, seeded, documents: list[dict]) -> None:
    for document in documents:
        chunks = httpx.get(
            f"{cluster.url}/api/v1/documents/{document['id']}/chunks",
            params={"page_size": 500},
            headers=api_headers(seeded),
        ).json()["results"]
        ordinals = [chunk["ordinal"] for chunk in chunks]
        assert len(ordinals) == document["chunk_count"] > 1
        assert sorted(ordinals) == list(range(len(ordinals))), "no chunk twice, none missing"


def test_a_worker_killed_in_the_middle_of_a_document_leaves_it_to_be_completed_without_duplicate_chunks(
    cluster, seeded
):
    run = uuid.uuid4().hex[:6]
    ids = [_upload(cluster, seeded, base, f"{run}-{i}") for i, base in enumerate(cluster.replica_urls)]
    wait_for(
        lambda: all(d["status"] == "processing" for d in _documents(cluster, seeded, ids)),
        timeout=30,
        what="both workers to be indexing",
    )
    killed = cluster.kill("worker-1")

    documents = wait_for(
        lambda: (docs := _documents(cluster, seeded, ids)) and all(d["status"] == "ready" for d in docs) and docs,
        timeout=90,
        interval=0.5,
        what="both documents to be indexed",
    )
    assert max(d["attempts"] for d in documents) >= 2, "one document was taken again after its worker died"
    _assert_indexed_once(cluster, seeded, documents)
    cluster.wait_restarted("worker-1", killed)


def test_restarting_redis_loses_no_message_or_document_and_everything_recovers_by_itself(cluster, seeded):
    room = seeded["room"]
    owner = Member(cluster.replica_urls[0], seeded["owner"]["jwt"], seeded["organization"])
    last_seq = owner.hello["conversations"][room]
    run = uuid.uuid4().hex[:6]
    ids = [_upload(cluster, seeded, base, f"{run}-{i}") for i, base in enumerate(cluster.replica_urls)]

    stopped = cluster.kill("redis", signal.SIGTERM)  # a clean restart: Redis writes its append-only file
    cluster.wait_restarted("redis", stopped)
    store = redis.Redis.from_url(cluster.state()["redis_url"])
    wait_for(lambda: _pings(store), timeout=30, what="Redis to answer again")

    def say_after_restart() -> dict | None:
        try:
            member = Member(cluster.replica_urls[1], seeded["member"]["jwt"], seeded["organization"])
        except Exception:
            return None
        try:
            return member.say(room, f"after the restart {run}")
        finally:
            member.close()

    sent = wait_for(say_after_restart, timeout=30, interval=1, what="a replica to take a message again")
    # The socket opened before the restart is still open, and rung again: its channel rejoined its groups
    got = owner.wait(lambda f: f["type"] == "message.new" and f["message"]["seq"] == sent["seq"], timeout=20)
    assert got["message"]["text"] == f"after the restart {run}"
    owner.send({"type": "resume", "ref": "r", "conversations": {room: last_seq}})
    resumed = owner.wait(lambda f: f["type"] == "resumed")
    assert resumed["conversations"][room] == sent["seq"]
    owner.close()

    documents = wait_for(
        lambda: (docs := _documents(cluster, seeded, ids)) and all(d["status"] == "ready" for d in docs) and docs,
        timeout=120,
        interval=0.5,
        what="the documents queued before the restart to be indexed",
    )
    _assert_indexed_once(cluster, seeded, documents)
    assert httpx.get(f"{cluster.url}/api/v1/bots", headers=api_headers(seeded)).status_code == 200


def _pings(store: redis.Redis) -> bool:
    try:
        return bool(store.ping())
    except redis.RedisError:
        return False
