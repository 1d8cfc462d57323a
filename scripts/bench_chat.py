"""`make bench-chat`: how much time Docent adds before the first token of an answer.

A loopback OpenAI-compatible provider answers every chat completion after a fixed delay. For 1, 20
and 50 concurrent conversations the bench measures time to first token (a) calling that provider
directly and (b) through Docent's SSE endpoint (uvicorn, config.asgi, BENCH_WORKERS worker processes,
2 by default: one per core of the reference machine), where a bot retrieves from an indexed document and
then calls the same provider. The direct baseline runs at the same concurrency, from the same client, so
the client's own queueing is subtracted out. Overhead = (b) - (a), at the median and the 95th percentile.
`answers/s` is the throughput Docent sustained at that level; with no pause between questions the offered
load grows with the concurrency until the machine's CPU is the limit (see docs/benchmarks.md).
`server CPU/answer` is the CPU time of the uvicorn processes per answer (the provider and PostgreSQL run in
processes of their own, so it excludes them and the retrieval SQL; it includes embedding the question). It is split
with what each answer records in its evidence (`cpu_ms`: the CPU its thread spent in retrieval and in the provider's
client): `sdk` (the provider's client: the OpenAI SDK building the request, httpx, reading the stream), `retr`
(embedding the question and the search call, the SQL excluded) and `docent` (the rest: HTTP, authentication, the
conversation and its messages, the prompt, the stream to the client). The target is on `docent`.

Redis serves the cache when one answers (as in production; `BENCH_REDIS=0` to run without).

Under each level's row, the CPU per answer across the machine (/proc): the server, the loopback provider, the load
client (this process), PostgreSQL and Redis when they run here, and the rest (other processes, the kernel), with the
LangChain app's in the same terms. The last line says what the overhead target asks of the machine at the last level:
an overhead of 50 ms means each conversation gets an answer every (the pause + the provider's whole answer + 50 ms),
so many answers a second at that CPU each, in cores: at or above the cores the machine has, queues grow whatever the
server does. Read it on a quiet machine (`the rest` near zero). `BENCH_THINK_MS` sets the pause between an answer
and the conversation's next question (0 by default: back to back, the harshest case).

`--peer` also serves the same bot as a developer would build it with LangChain (scripts/peer/langchain_chat.py:
Starlette, langchain-postgres PGVector over the same chunk texts and embedder, ChatOpenAI streaming from the
same provider), on uvicorn with the same number of workers, measured in the same run at each level; the ratio
is Docent's overhead over the peer's. `--rounds N` repeats every level N times (medians of the rounds).
`--levels 1,20,50` chooses the concurrency levels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ.setdefault("PROVIDER_ALLOW_PRIVATE_NETWORKS", "true")  # the provider is a loopback server
if os.environ.get("BENCH_REDIS", "1") != "0" and not os.environ.get("REDIS_URL"):
    from config.embedded import ensure_redis

    _redis = ensure_redis() or ""
    if _redis:
        os.environ["REDIS_URL"] = _redis.rsplit("/", 1)[0] + "/14"  # a database of its own

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from proc_cpu import cpu_seconds, machine_busy_seconds, postmaster_pid, tree_cpu_seconds  # noqa: E402
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
PEER_PORT = PORT + 1
FLOOR_PORT = PORT + 2
PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"
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


async def first_token(
    client: httpx.AsyncClient, method: str, url: str, marker: bytes, **kwargs: object
) -> tuple[float, float]:
    """Milliseconds to the first token, and to the end of the answer."""
    started = time.perf_counter()
    ttft = None
    async with client.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            if ttft is None and marker in chunk:
                ttft = time.perf_counter() - started
    if ttft is None:
        raise RuntimeError(f"no token from {url}")
    return ttft * 1000, (time.perf_counter() - started) * 1000


async def run_level(level: int, total: int, call: object) -> tuple[list[float], list[float]]:
    """Times to the first token, and times of whole answers (ms), of `total` answers at `level` conversations."""
    samples: list[float] = []
    whole: list[float] = []
    per_worker = max(1, total // level)
    limits = httpx.Limits(max_connections=level + 5, max_keepalive_connections=level + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        for _ in range(min(3, per_worker)):  # warm-up: connections, caches
            await call(client)  # type: ignore[operator]

        async def worker(index: int) -> None:
            if THINK_MS:
                await asyncio.sleep(THINK_MS / 1000 * index / level)  # spread the conversations' starts
            for _ in range(per_worker):
                ttft, answer = await call(client)  # type: ignore[operator]
                samples.append(ttft)
                whole.append(answer)
                if THINK_MS:
                    await asyncio.sleep(THINK_MS / 1000)

        await asyncio.gather(*(worker(index) for index in range(level)))
    return samples, whole


def cpu_split(org_id: str, since: datetime) -> tuple[float, float]:
    """Mean CPU (ms) per answer in the provider's client and in retrieval, from the answers' evidence."""
    from django.db.models import Avg, FloatField
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast

    from apps.chatbot.models import Message

    means = (
        Message.objects.for_org(org_id)
        .filter(role=Message.Role.ASSISTANT, created_at__gte=since)
        .aggregate(
            provider=Avg(Cast(KT("evidence__cpu_ms__provider"), FloatField())),
            retrieval=Avg(Cast(KT("evidence__cpu_ms__retrieval"), FloatField())),
        )
    )
    return float(means["provider"] or 0.0), float(means["retrieval"] or 0.0)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# What `machine_sample` reads, as printed.
MACHINE_NAMES = {"server": "the server", "provider": "the provider", "client": "the load client", "other": "the rest"}


def machine_sample(server_pid: int, provider_pid: int, redis_pid: int | None) -> dict[str, float]:
    """CPU seconds so far of the server (uvicorn and its workers), the loopback provider, this process (the load
    client), the embedded PostgreSQL (when it runs here), Redis (when it runs here) and the whole machine."""
    sample = {
        "server": tree_cpu_seconds(server_pid),
        "provider": cpu_seconds(provider_pid),
        "client": cpu_seconds(os.getpid()),
    }
    postmaster = postmaster_pid()
    if postmaster:
        sample["PostgreSQL"] = tree_cpu_seconds(postmaster)
    if redis_pid:
        sample["Redis"] = cpu_seconds(redis_pid)
    sample["machine"] = machine_busy_seconds()
    return sample


def per_answer(before: dict[str, float], after: dict[str, float], answers: int) -> dict[str, float]:
    """Milliseconds of CPU per answer of each part between two samples; `other` is the machine's rest (other
    processes, the kernel's own work)."""
    used = {name: (after[name] - before[name]) * 1000 / max(answers, 1) for name in before}
    used["other"] = max(0.0, used["machine"] - sum(ms for name, ms in used.items() if name != "machine"))
    return used


def measured(
    level: int, server_pid: int, provider_pid: int, redis_pid: int | None, call: object
) -> tuple[list[float], dict[str, float]]:
    """The times to the first token of a level's answers through one server, and the CPU per answer across the
    machine meanwhile (the warm-up's answers counted)."""
    before = machine_sample(server_pid, provider_pid, redis_pid)
    times, _ = asyncio.run(run_level(level, REQUESTS.get(level, 6 * level), call))
    after = machine_sample(server_pid, provider_pid, redis_pid)
    return times, per_answer(before, after, len(times) + min(3, len(times)))


def local_redis_pid() -> int | None:
    """The pid of the Redis serving the cache, when it runs on this machine."""
    from django.conf import settings

    if not settings.USE_REDIS:
        return None
    import redis

    try:
        pid = int(redis.Redis.from_url(settings.REDIS_URL).info("server")["process_id"])
    except Exception:  # a Redis elsewhere, or one that will not say
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def capacity(level: int, row: dict[str, list[float]], with_peer: bool) -> str:
    """What the overhead target asks of the machine at `level` conversations: an overhead of 50 ms means each
    conversation gets an answer every (the pause + the provider's whole answer + 50 ms), so the machine must serve
    level / that many answers a second, each costing the CPU measured across the machine. Above the cores the
    machine has, the target cannot be met whatever the server does (queues grow until the CPU keeps up)."""
    cores = os.cpu_count() or 1
    turn = THINK_MS + statistics.median(row["direct answer p50"]) + 50
    needed = level * 1000 / turn
    pace = f"pausing {THINK_MS:.0f} ms between questions" if THINK_MS else "back to back"
    machine = statistics.median(row["machine machine"])
    at_target = machine - statistics.median(row["docent cpu"]) + 4
    text = (
        f"capacity at {level} conversations {pace}: an overhead of 50 ms means an answer every {turn:.0f} ms "
        f"a conversation, {needed:.0f} answers/s; at the {machine:.1f} ms of CPU an answer costs the machine that is "
        f"{needed * machine / 1000:.2f} cores, {needed * at_target / 1000:.2f} with Docent's own at the 4 ms "
        f"target"
    )
    if with_peer:
        text += f", {needed * statistics.median(row['peer machine machine']) / 1000:.2f} for the LangChain app"
    return text + f"; the machine has {cores} (at or above them, the queue grows until the CPU keeps up)"


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


def _uvicorn(app: str, port: int, env: dict[str, str], python: Path = Path(sys.executable)) -> subprocess.Popen[bytes]:
    command = [str(python), "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(WORKERS), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def _peer(org_id: str, provider_url: str) -> tuple[subprocess.Popen[bytes], dict[str, object]]:
    """The LangChain app over the bench bot's chunk texts, in a scratch database of its own."""
    from django.conf import settings
    from throwaway_db import scratch_database

    from apps.documents.models import Chunk

    texts = list(Chunk.objects.for_org(org_id).order_by("document_id", "ordinal").values_list("text", flat=True))
    conninfo, url = scratch_database("docent_bench_peer_chat")
    dims = str(settings.EMBEDDING_DIMENSIONS)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        json.dump(texts, handle)
        handle.flush()
        script = str(ROOT / "scripts" / "peer" / "langchain_chat.py")
        subprocess.run([str(PEER_PYTHON), script, "load", url, handle.name, "--dimensions", dims], check=True)
    env = {**os.environ, "PEER_DB_URL": url, "PEER_PROVIDER_URL": provider_url, "PEER_DIMENSIONS": dims}
    server = _uvicorn("scripts.peer.langchain_chat:app", PEER_PORT, env, PEER_PYTHON)
    return server, {"conninfo": conninfo, "name": "docent_bench_peer_chat", "chunks": len(texts)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", action="store_true", help="also measure the LangChain app (requirements/peer.txt)")
    parser.add_argument(
        "--floor", action="store_true", help="also measure a bare relay of the provider's stream (no Docent work)"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--levels", default=",".join(str(level) for level in LEVELS))
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    if args.peer and not PEER_PYTHON.exists():
        print("--peer needs the peer virtualenv: make bench-chat installs it (requirements/peer.txt)")
        return 2
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
    server = _uvicorn("config.asgi:application", PORT, env)
    redis_pid = local_redis_pid()
    peer: subprocess.Popen[bytes] | None = None
    floor: subprocess.Popen[bytes] | None = None
    peer_db: dict[str, object] = {}
    try:
        wait_ready(f"http://127.0.0.1:{PORT}/healthz", server)
        if args.peer:
            peer, peer_db = _peer(org_id, provider_url)
            wait_ready(f"http://127.0.0.1:{PEER_PORT}/healthz", peer)
        if args.floor:
            floor = _uvicorn("scripts.peer.bare_relay:app", FLOOR_PORT, {**env, "FLOOR_PROVIDER_URL": provider_url})
            wait_ready(f"http://127.0.0.1:{FLOOR_PORT}/healthz", floor)
        chat_url = f"http://127.0.0.1:{PORT}/api/v1/bots/{bot_id}/chat"
        headers = {"Authorization": f"Bearer {token}", "X-Organization": org_id, "Accept": "text/event-stream"}
        direct_url = f"{provider_url}/chat/completions"
        direct_body = {"model": "bench-model", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
        peer_url = f"http://127.0.0.1:{PEER_PORT}/chat"

        def docent(client: httpx.AsyncClient) -> object:
            return first_token(client, "POST", chat_url, b"event: token", json={"message": QUESTION}, headers=headers)

        def direct(client: httpx.AsyncClient) -> object:
            return first_token(client, "POST", direct_url, b'"content"', json=direct_body)

        def langchain(client: httpx.AsyncClient) -> object:
            return first_token(client, "POST", peer_url, b"event: token", json={"message": QUESTION})

        floor_url = f"http://127.0.0.1:{FLOOR_PORT}/chat"

        def bare(client: httpx.AsyncClient) -> object:
            return first_token(client, "POST", floor_url, b"event: token", json={"message": QUESTION})

        from django.conf import settings

        print(
            f"Provider first-token delay: {DELAY_MS:.0f} ms; uvicorn, {WORKERS} worker(s); "
            f"pause between questions: {THINK_MS:.0f} ms; cache: {'Redis' if settings.USE_REDIS else 'in-process'}; "
            f"{args.rounds} round(s), medians; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
            "times in ms"
        )
        if floor is not None:
            print("floor: a bare ASGI relay of the provider's stream (scripts/peer/bare_relay.py), same workers")
        if peer is not None:
            print(f"peer: LangChain (PGVector over the same {peer_db['chunks']} chunk texts, ChatOpenAI), same workers")
        header = (
            f"{'concurrent':>10} {'n':>5} {'direct p50':>11} {'direct p95':>11} {'docent p50':>11} "
            f"{'docent p95':>11} {'overhead p50':>13} {'overhead p95':>13} {'server CPU/answer':>18} {'sdk':>5} "
            f"{'retr':>5} {'docent':>6} {'answers/s':>10}"
        )
        if peer is not None:
            header += f" {'peer ovh p50':>13} {'peer ovh p95':>13} {'docent/peer p50':>16} {'docent/peer p95':>16}"
        print(header)
        summary: dict[int, dict[str, list[float]]] = {}
        for _ in range(args.rounds):
            for level in levels:
                row = summary.setdefault(level, {})
                direct_ms, direct_whole = asyncio.run(run_level(level, REQUESTS.get(level, 6 * level), direct))
                machine_before = machine_sample(server.pid, provider.pid, redis_pid)
                level_started = datetime.now(UTC)
                wall_before = time.perf_counter()
                docent_ms, _ = asyncio.run(run_level(level, REQUESTS.get(level, 6 * level), docent))
                answered = len(docent_ms) + min(3, len(docent_ms))
                answers_per_second = answered / (time.perf_counter() - wall_before)
                machine = per_answer(machine_before, machine_sample(server.pid, provider.pid, redis_pid), answered)
                cpu_per_answer = machine["server"]
                sdk_cpu, retrieval_cpu = cpu_split(org_id, level_started)
                docent_cpu = cpu_per_answer - sdk_cpu - retrieval_cpu
                d50, d95 = pct(direct_ms, 0.5), pct(direct_ms, 0.95)
                s50, s95 = pct(docent_ms, 0.5), pct(docent_ms, 0.95)
                values = {
                    "direct p50": d50,
                    "direct p95": d95,
                    "docent p50": s50,
                    "docent p95": s95,
                    "overhead p50": s50 - d50,
                    "overhead p95": s95 - d95,
                    "cpu": cpu_per_answer,
                    "sdk cpu": sdk_cpu,
                    "retrieval cpu": retrieval_cpu,
                    "docent cpu": docent_cpu,
                    "answers/s": answers_per_second,
                    "direct answer p50": pct(direct_whole, 0.5),
                    **{f"machine {name}": ms for name, ms in machine.items()},
                }
                line = (
                    f"{level:>10} {len(docent_ms):>5} {d50:>11.1f} {d95:>11.1f} {s50:>11.1f} {s95:>11.1f} "
                    f"{s50 - d50:>13.1f} {s95 - d95:>13.1f} {cpu_per_answer:>15.1f} ms {sdk_cpu:>5.1f} "
                    f"{retrieval_cpu:>5.1f} {docent_cpu:>6.1f} {answers_per_second:>10.1f}"
                )
                machine_line = f"{'':>10} CPU per answer across the machine {machine['machine']:.1f} ms: " + ", ".join(
                    f"{MACHINE_NAMES.get(name, name)} {ms:.1f}" for name, ms in machine.items() if name != "machine"
                )
                if peer is not None:
                    peer_ms, peer_machine = measured(level, peer.pid, provider.pid, redis_pid, langchain)
                    values |= {f"peer machine {name}": ms for name, ms in peer_machine.items()}
                    peer_total, peer_server = peer_machine["machine"], peer_machine["server"]
                    machine_line += f"; the LangChain app: {peer_total:.1f} ms, its server {peer_server:.1f}"
                    p50, p95 = pct(peer_ms, 0.5) - d50, pct(peer_ms, 0.95) - d95
                    values |= {
                        "peer overhead p50": p50,
                        "peer overhead p95": p95,
                        "docent/peer p50": (s50 - d50) / p50 if p50 > 0 else float("nan"),
                        "docent/peer p95": (s95 - d95) / p95 if p95 > 0 else float("nan"),
                    }
                    line += (
                        f" {p50:>13.1f} {p95:>13.1f} {values['docent/peer p50']:>15.2f}x "
                        f"{values['docent/peer p95']:>15.2f}x"
                    )
                if floor is not None:
                    floor_ms, floor_machine = measured(level, floor.pid, provider.pid, redis_pid, bare)
                    values |= {
                        "floor server": floor_machine["server"],
                        "floor overhead p50": pct(floor_ms, 0.5) - d50,
                        "floor overhead p95": pct(floor_ms, 0.95) - d95,
                    }
                    machine_line += (
                        f"\n{'':>10} the bare relay: overhead p50 / p95 {values['floor overhead p50']:.1f} / "
                        f"{values['floor overhead p95']:.1f} ms, its server {floor_machine['server']:.1f} ms of CPU "
                        f"an answer; Docent's server adds {cpu_per_answer - floor_machine['server']:.1f} ms to it"
                    )
                for key, value in values.items():
                    row.setdefault(key, []).append(value)
                print(line, flush=True)
                print(machine_line, flush=True)
        if args.rounds > 1:
            print(f"medians of {args.rounds} rounds:")
            for level, row in summary.items():
                print(
                    f"  {level:>3} conversations: "
                    + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in row.items())
                )
        last = summary[levels[-1]]
        cpu_last, docent_last = statistics.median(last["cpu"]), statistics.median(last["docent cpu"])
        print(
            f"server CPU per answer at {levels[-1]} conversations: {cpu_last:.1f} ms = provider's client "
            f"{statistics.median(last['sdk cpu']):.1f} + retrieval {statistics.median(last['retrieval cpu']):.1f} "
            f"+ Docent {docent_last:.1f}"
        )
        print(
            f"targets: Docent's server CPU per answer <= 4 ms (measured {docent_last:.1f} ms at {levels[-1]}); "
            f"overhead p95 <= 50 ms at 50 conversations"
            + (f" (measured {statistics.median(summary[50]['overhead p95']):.1f} ms)" if 50 in summary else "")
        )
        if floor is not None:
            floor_last = statistics.median(last["floor server"])
            print(
                f"the floor at {levels[-1]} conversations: a bare relay's server costs {floor_last:.1f} ms of CPU an "
                f"answer (HTTP, the provider's client, the stream), overhead p95 "
                f"{statistics.median(last['floor overhead p95']):.1f} ms; Docent's server adds "
                f"{cpu_last - floor_last:.1f} ms to it (retrieval, the conversation, the prompt, quotas, events)"
            )
        print(capacity(levels[-1], last, peer is not None))
        if peer is not None:
            print(
                "docent/peer overhead p50 (Docent ahead below 1x): "
                + ", ".join(
                    f"{level} conversations {statistics.median(row['docent/peer p50']):.2f}x"
                    for level, row in summary.items()
                )
            )
    finally:
        for process in (server, peer, floor, provider):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        if peer_db:
            from throwaway_db import drop_scratch_database

            drop_scratch_database(peer_db["conninfo"], str(peer_db["name"]))  # type: ignore[arg-type]
        if not db_was_running:
            embedded_postgres_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
