"""`make load`: a bounded load test of the whole stack on loopback.

Starts the `make run` stack (scripts/run.py: uvicorn, a Celery worker, Celery beat, the embedded PostgreSQL,
the offline provider) on its own port, creates `--organizations` fresh organizations, each with a collection
of indexed documents, an offline bot and two API keys (one with room to spare; one with a tight per-minute
limit, used for a share of the requests, whose 429s are expected), then runs `--users` concurrent clients
(asyncio + httpx) for `--seconds` seconds. Each client picks an organization and one of its keys per
request and a realistic mix of calls: search, chat, document and collection lists, document detail,
conversation list, and uploads.

Prints the throughput, p50/p95 per endpoint, the expected 429s, and every other non-2xx answer or transport
error (there must be none: the exit status is 1 otherwise). Then it waits for the uploads to be indexed and
says how many were (none may be lost), stops the stack and deletes the organizations.

Usage: scripts/load.py [--seconds 60] [--users 8] [--organizations 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
PORT = os.environ.get("LOAD_PORT", "8048")
BASE = f"http://127.0.0.1:{PORT}"

TOPICS = {
    "vacation": "Employees get 25 days of paid vacation per year. Vacation requests go to the team lead.",
    "office": "The office opens at 8 am and closes at 6 pm on weekdays. Visitors sign in at the front desk.",
    "expenses": "Travel expenses are reimbursed within 30 days when the receipts are attached to the claim.",
    "security": "Badges must be worn at all times. Lost badges are reported to the security desk at once.",
    "laptops": "Laptops are replaced every three years. Broken laptops go to the IT help desk on floor two.",
    "parking": "Parking permits are issued by facilities. Electric cars charge for free in the basement.",
}
QUESTIONS = [
    "How many vacation days do I get?",
    "When does the office open?",
    "How are travel expenses reimbursed?",
    "What do I do with a lost badge?",
    "When is my laptop replaced?",
    "Where can I charge an electric car?",
]
# (endpoint name, weight): about what a document-chat integration does, reads far more often than writes.
MIX = [
    ("search", 5),
    ("chat", 3),
    ("documents list", 3),
    ("document detail", 2),
    ("collections list", 1),
    ("conversations list", 1),
    ("upload", 1),
]
TIGHT_LIMIT = 60  # requests per minute of each organization's second key
TIGHT_SHARE = 0.15  # of the requests made with it


@dataclass
class Tenant:
    organization_id: str
    collection_id: str
    bot_id: str
    keys: list[tuple[str, bool]]  # (plaintext, tight)
    document_ids: list[str]


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    expected_429: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[tuple[str, str]] = field(default_factory=Counter)
    uploaded: list[str] = field(default_factory=list)


def _healthy() -> bool:
    try:
        return httpx.get(f"{BASE}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(predicate: Any, timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _text(topic: str, salt: int) -> str:
    sentence = TOPICS[topic]
    return "\n\n".join(f"{topic.title()} policy, section {salt}.{i}. {sentence}" for i in range(20))


def _seed(count: int) -> list[Tenant]:
    """Organizations with indexed documents, an offline bot and two keys each, through the services."""
    from apps.api_keys.models import ALL_SCOPES
    from apps.api_keys.services import api_key_create
    from apps.chatbot.services.bots import bot_create
    from apps.documents.models import Document, DocumentStatus
    from apps.documents.services.documents import collection_create, document_create_from_text
    from apps.organizations.actors import Actor
    from apps.organizations.models import Organization

    tenants = []
    stamp = time.time_ns()
    for index in range(count):
        organization = Organization.objects.create(name=f"Load test {index}", slug=f"load-{stamp}-{index}")
        actor = Actor.system(organization=organization, label="load")
        collection = collection_create(organization=organization, actor=actor, name="Handbook")
        documents = [
            document_create_from_text(collection=collection, actor=actor, title=f"{topic} policy", text=_text(topic, 0))
            for topic in TOPICS
        ]
        bot = bot_create(organization=organization, actor=actor, collections=[collection.pk], name="Handbook bot")
        keys = [
            (
                api_key_create(
                    organization=organization,
                    actor=actor,
                    name=f"load {tight}",
                    scopes=list(ALL_SCOPES),
                    rate_limit_per_minute=TIGHT_LIMIT if tight else 1_000_000,
                ).plaintext,
                tight,
            )
            for tight in (False, True)
        ]
        ids = [str(created.document.pk) for created in documents]
        tenants.append(Tenant(str(organization.pk), str(collection.pk), str(bot.pk), keys, ids))

    def indexed() -> bool:
        pending = Document.objects.unscoped().filter(
            organization__slug__startswith=f"load-{stamp}-",
            status__in=[DocumentStatus.QUEUED, DocumentStatus.PROCESSING],
        )
        return not pending.exists()

    _wait(indexed, 300, "the seeded documents to be indexed")
    return tenants


async def _call(client: httpx.AsyncClient, tenant: Tenant, name: str, rng: random.Random) -> httpx.Response:
    if name == "search":
        return await client.post("/api/v1/search", json={"query": rng.choice(QUESTIONS), "top_k": 5})
    if name == "chat":
        return await client.post(f"/api/v1/bots/{tenant.bot_id}/chat", json={"message": rng.choice(QUESTIONS)})
    if name == "documents list":
        return await client.get("/api/v1/documents")
    if name == "document detail":
        return await client.get(f"/api/v1/documents/{rng.choice(tenant.document_ids)}")
    if name == "collections list":
        return await client.get("/api/v1/collections")
    if name == "conversations list":
        return await client.get("/api/v1/conversations")
    topic = rng.choice(list(TOPICS))
    body = _text(topic, rng.randrange(10_000)).encode()
    files = {"file": (f"{topic}-{rng.randrange(10**6)}.txt", body, "text/plain")}
    return await client.post(f"/api/v1/collections/{tenant.collection_id}/documents", files=files)


async def _user(
    number: int, tenants: list[Tenant], deadline: float, results: Results, client: httpx.AsyncClient
) -> None:
    rng = random.Random(number)
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    while time.monotonic() < deadline:
        tenant = rng.choice(tenants)
        # Most traffic on the roomy key; the tight one now and then, enough to reach its limit.
        key, tight = tenant.keys[1] if rng.random() < TIGHT_SHARE else tenant.keys[0]
        name = rng.choices(names, weights)[0]
        client.headers["Authorization"] = f"Bearer {key}"
        started = time.perf_counter()
        try:
            response = await _call(client, tenant, name, rng)
        except httpx.HTTPError as exc:
            results.unexpected[(name, type(exc).__name__)] += 1
            continue
        elapsed = time.perf_counter() - started
        if response.status_code == 429 and tight:
            results.expected_429[name] += 1
        elif response.is_success:
            results.latencies[name].append(elapsed)
            if name == "upload":
                results.uploaded.extend(d["id"] for d in response.json()["documents"])
        else:
            code = response.json().get("error", {}).get("code", "") if response.content else ""
            results.unexpected[(name, f"{response.status_code} {code}".strip())] += 1


async def _run(tenants: list[Tenant], seconds: float, users: int) -> tuple[Results, float]:
    results = Results()
    started = time.monotonic()
    deadline = started + seconds
    clients = [httpx.AsyncClient(base_url=BASE, timeout=60) for _ in range(users)]
    try:
        await asyncio.gather(*(_user(n, tenants, deadline, results, clients[n]) for n in range(users)))
    finally:
        for client in clients:
            await client.aclose()
    return results, time.monotonic() - started


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg()) + f" on {os.cpu_count()} cores"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _report(results: Results, elapsed: float, users: int) -> int:
    answered = sum(len(v) for v in results.latencies.values())
    limited = sum(results.expected_429.values())
    failures = sum(results.unexpected.values())
    total = answered + limited + failures
    print(
        f"{total} requests in {elapsed:.1f} s with {users} concurrent clients: {total / elapsed:.1f} req/s "
        f"({answered / elapsed:.1f} req/s answered 2xx); load average {_load()}"
    )
    print(f"{'endpoint':<20} {'2xx':>6} {'429':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for name, _ in MIX:
        values = results.latencies.get(name, [])
        p50 = f"{statistics.median(values) * 1000:.0f}" if values else "-"
        p95 = f"{_percentile(values, 0.95) * 1000:.0f}" if values else "-"
        print(f"{name:<20} {len(values):>6} {results.expected_429[name]:>5} {p50:>8} {p95:>8}")
    print(f"expected 429s (the tight keys, {TIGHT_LIMIT}/min): {limited}")
    print(f"errors: {failures}")
    for (name, what), count in sorted(results.unexpected.items()):
        print(f"  {name}: {what}: {count}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", "60")))
    parser.add_argument("--users", type=int, default=int(os.environ.get("LOAD_USERS", "8")))
    parser.add_argument("--organizations", type=int, default=3)
    args = parser.parse_args()

    log = ROOT / "var" / "load-run.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        stack = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            cwd=ROOT,
            env={**os.environ, "PORT": PORT},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    organizations: list[str] = []
    failures = 1
    try:
        _wait(_healthy, 300, f"the stack to serve {BASE}/readyz (log: {log})", interval=1.0)
        import django

        django.setup()
        from apps.documents.models import Document, DocumentStatus
        from apps.organizations.models import Organization

        print(
            f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; stack: scripts/run.py (uvicorn, celery worker -c 2, beat), offline provider"
        )
        tenants = _seed(args.organizations)
        organizations = [tenant.organization_id for tenant in tenants]
        print(
            f"{len(tenants)} organizations, 2 keys and {len(TOPICS)} indexed documents each; {args.seconds:g} s; "
            f"load average before {_load()}"
        )
        results, elapsed = asyncio.run(_run(tenants, args.seconds, args.users))
        failures = _report(results, elapsed, args.users)

        uploaded = Document.objects.unscoped().filter(pk__in=results.uploaded)
        waited = time.monotonic()
        finished = (DocumentStatus.READY, DocumentStatus.FAILED)
        while uploaded.exclude(status__in=finished).exists() and time.monotonic() - waited < 180:
            time.sleep(1)
        states = Counter(uploaded.values_list("status", flat=True))
        print(
            f"uploads: {len(results.uploaded)} accepted; after {time.monotonic() - waited:.0f} s: "
            + ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
        )
        lost = len(results.uploaded) - states.get(DocumentStatus.READY, 0)
        if lost:
            print(f"  {lost} uploads are not ready")
            failures += lost
        Organization.objects.filter(pk__in=organizations).delete()
        organizations = []
    finally:
        if organizations:
            from apps.organizations.models import Organization

            Organization.objects.filter(pk__in=organizations).delete()
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
