"""`make bench-chat`: how much time Docent adds before the first token of an answer.

A loopback OpenAI-compatible provider answers every chat completion after a fixed delay. For 1, 20
and 50 concurrent conversations the bench measures time to first token (a) calling that provider
directly and (b) through Docent's SSE endpoint (uvicorn, config.asgi, BENCH_WORKERS worker processes,
2 by default: one per core of the reference machine), where a bot retrieves from an indexed document and
then calls the same provider. The direct baseline runs at the same concurrency, from the same client, so
the client's own queueing is subtracted out. Overhead = (b) - (a), at the median and the 95th percentile.
`answers/s` is the throughput Docent sustained at that level; with no pause between questions the offered
load grows with the concurrency until the machine's CPU is the limit (see docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ.setdefault("PROVIDER_ALLOW_PRIVATE_NETWORKS", "true")  # the provider is a loopback server

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from apps.chatbot.models import Chatbot  # noqa: E402
from apps.chatbot_provider.models import ChatbotProvider, ProviderKind  # noqa: E402
from apps.documents.models import Collection, Document  # noqa: E402
from apps.documents.services.documents import collection_create, document_create_from_text  # noqa: E402
from apps.documents.services.pipeline import document_index  # noqa: E402
from apps.organizations.actors import Actor  # noqa: E402
from apps.organizations.models import Membership, Organization, Role  # noqa: E402
from apps.users.models import User  # noqa: E402
from config.embedded import PGDATA, embedded_postgres_stop  # noqa: E402

DELAY_MS = float(os.environ.get("BENCH_PROVIDER_DELAY_MS", "250"))
LEVELS = (1, 20, 50)
REQUESTS = {1: 40, 20: 200, 50: 300}  # answers measured per level (after a warm-up)
PORT = int(os.environ.get("BENCH_PORT", "8765"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
# Pause between a conversation's answer and its next question (0: back to back, the harshest case).
THINK_MS = float(os.environ.get("BENCH_THINK_MS", "0"))
QUESTION = "How many vacation days do employees get per year?"
HANDBOOK = """Employee handbook

Vacation. Employees get 25 days of paid vacation per year. Vacation requests go to the team lead at
least two weeks ahead. Unused days carry over to the first quarter of the next year.

Office hours. The office opens at 8 am and closes at 6 pm on weekdays. On public holidays it is closed.

Expenses. Travel expenses are reimbursed within 30 days when the receipts are uploaded to the portal.
"""


def setup(provider_url: str) -> tuple[str, str, str]:
    call_command("migrate", verbosity=0, interactive=False)
    org, _ = Organization.objects.get_or_create(slug="bench-chat", defaults={"name": "Bench chat"})
    user = User.objects.filter(email="bench-chat@docent.local").first() or User.objects.create_user(
        "bench-chat@docent.local", "bench-chat-password-123"
    )
    Membership.objects.unscoped().get_or_create(organization=org, user=user, defaults={"role": Role.ADMIN})
    provider, _ = ChatbotProvider.objects.for_org(org).update_or_create(
        name="Loopback",
        defaults={
            "organization": org,
            "kind": ProviderKind.OPENAI_COMPATIBLE,
            "base_url": provider_url,
            "default_chat_model": "bench-model",
            "timeout_seconds": 30,
            "max_retries": 0,
        },
    )
    collection = Collection.objects.for_org(org).filter(name="Handbook").first() or collection_create(
        organization=org, actor=Actor.for_user(user).in_organization(org), name="Handbook"
    )
    document = Document.objects.for_org(org).filter(collection=collection).first()
    if document is None:
        document = document_create_from_text(
            collection=collection, actor=Actor.for_user(user).in_organization(org), title="Handbook", text=HANDBOOK
        ).document
    document.refresh_from_db()
    if document.status != "ready":
        document_index(organization_id=str(org.pk), document_id=str(document.pk))
    bot, _ = Chatbot.objects.for_org(org).update_or_create(
        name="Bench bot", defaults={"organization": org, "provider": provider, "min_relevance": 0.0}
    )
    bot.collections.set([collection])
    return str(bot.pk), str(RefreshToken.for_user(user).access_token), str(org.pk)


async def first_token(client: httpx.AsyncClient, method: str, url: str, marker: bytes, **kwargs: object) -> float:
    started = time.perf_counter()
    ttft = None
    async with client.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            if ttft is None and marker in chunk:
                ttft = time.perf_counter() - started
    if ttft is None:
        raise RuntimeError(f"no token from {url}")
    return ttft * 1000


async def run_level(level: int, total: int, call: object) -> list[float]:
    samples: list[float] = []
    per_worker = max(1, total // level)
    limits = httpx.Limits(max_connections=level + 5, max_keepalive_connections=level + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        for _ in range(min(3, per_worker)):  # warm-up: connections, caches
            await call(client)  # type: ignore[operator]

        async def worker(index: int) -> None:
            if THINK_MS:
                await asyncio.sleep(THINK_MS / 1000 * index / level)  # spread the conversations' starts
            for _ in range(per_worker):
                samples.append(await call(client))  # type: ignore[operator]
                if THINK_MS:
                    await asyncio.sleep(THINK_MS / 1000)

        await asyncio.gather(*(worker(index) for index in range(level)))
    return samples


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn workers), from /proc."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError("uvicorn exited")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("uvicorn did not start")


def main() -> int:
    db_was_running = (PGDATA / "postmaster.pid").exists() or bool(os.environ.get("DATABASE_URL"))
    # The provider runs in its own process so that it does not compete with the measuring client.
    provider = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apps.chatbot_provider.tests.loopback",
            "--delay-ms",
            str(DELAY_MS),
            "--token-delay-ms",
            "2",
            "--reply",
            "Employees get 25 days of paid vacation per year [1].",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert provider.stdout is not None
    provider_url = f"http://127.0.0.1:{int(provider.stdout.readline())}/v1"
    bot_id, token, org_id = setup(provider_url)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    uvicorn = [str(Path(sys.executable).parent / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*uvicorn, "--port", str(PORT), "--workers", str(WORKERS), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_ready(f"http://127.0.0.1:{PORT}/healthz", server)
        chat_url = f"http://127.0.0.1:{PORT}/api/v1/bots/{bot_id}/chat"
        headers = {"Authorization": f"Bearer {token}", "X-Organization": org_id, "Accept": "text/event-stream"}
        direct_url = f"{provider_url}/chat/completions"
        direct_body = {"model": "bench-model", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}

        def docent(client: httpx.AsyncClient) -> object:
            return first_token(client, "POST", chat_url, b"event: token", json={"message": QUESTION}, headers=headers)

        def direct(client: httpx.AsyncClient) -> object:
            return first_token(client, "POST", direct_url, b'"content"', json=direct_body)

        print(
            f"Provider first-token delay: {DELAY_MS:.0f} ms; uvicorn, {WORKERS} worker(s); "
            f"pause between questions: {THINK_MS:.0f} ms; times in ms"
        )
        print(
            f"{'concurrent':>10} {'n':>5} {'direct p50':>11} {'direct p95':>11} {'docent p50':>11} "
            f"{'docent p95':>11} {'overhead p50':>13} {'overhead p95':>13} {'server CPU/answer':>18} {'answers/s':>10}"
        )
        for level in LEVELS:
            direct_ms = asyncio.run(run_level(level, REQUESTS[level], direct))
            cpu_before = cpu_seconds(server.pid)
            wall_before = time.perf_counter()
            docent_ms = asyncio.run(run_level(level, REQUESTS[level], docent))
            answers_per_second = (len(docent_ms) + min(3, len(docent_ms))) / (time.perf_counter() - wall_before)
            cpu_per_answer = (cpu_seconds(server.pid) - cpu_before) * 1000 / (len(docent_ms) + min(3, len(docent_ms)))
            d50, d95 = pct(direct_ms, 0.5), pct(direct_ms, 0.95)
            s50, s95 = pct(docent_ms, 0.5), pct(docent_ms, 0.95)
            print(
                f"{level:>10} {len(docent_ms):>5} {d50:>11.1f} {d95:>11.1f} {s50:>11.1f} {s95:>11.1f} "
                f"{s50 - d50:>13.1f} {s95 - d95:>13.1f} {cpu_per_answer:>15.1f} ms {answers_per_second:>10.1f}",
                flush=True,
            )
        print(f"(mean direct {statistics.mean(direct_ms):.1f}, mean docent {statistics.mean(docent_ms):.1f} at 50)")
    finally:
        for process in (server, provider):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        if not db_was_running:
            embedded_postgres_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
