"""`make bench-realtime`: how many authenticated sockets one Docent server process holds, and how fast it fans
a 200-member room out, next to a minimal raw `websockets` broadcast server doing the same work.

For each level N (1,000 and 5,000 sockets by default; `--sockets 1000,5000,10000`) the bench:

1. starts a server process: Docent (uvicorn, one process, config.asgi with the development settings on a
   throwaway database, channels_redis when Redis answers on REDIS_URL or 127.0.0.1:6379, else the
   in-memory layer, printed; with the WebSocket arguments `make run` and the deployments pass, i.e. no
   per-message deflate, plus BENCH_UVICORN_ARGS) or the raw server (`websockets`, this file's `raw` mode: it
   numbers and broadcasts every `send` to the room, storing nothing; per-message deflate on, the library's
   default, unless `--raw-compression off`);
2. starts a client process (asyncio + `websockets`, this file's `client` mode) that opens N sockets, each a
   different member (Docent: a single-use ticket each; organizations of 200 members, each with a group of its
   200 members, so every socket is subscribed to a room), and holds them idle, measuring the server's CPU and
   memory;
3. with all N sockets still open, fans out messages in the first organization's 200-member group: senders
   among its members send at a moderate rate (`--rate`, messages/s), then back to back (`--burst`); every
   member's socket records each `message.new` it receives (Docent's sockets open with `batch=1`, so a socket
   behind by several messages gets them in one `messages.new`, each recorded as it arrives: docs/realtime.md).
   Latency is from the send to the delivery, on the client's clock; drops are the seqs a member's socket never
   received (counted from the acknowledged sends); duplicates are seqs received twice.

Then (`--max`, on unless `--no-max`) it pushes one Docent process until it fails: `--step` more idle sockets
at a time (up to `--max-sockets`) against the same server, and reports the most it held (every socket
greeted, 20 of them answering a ping after each step). Both processes raise their open-file limit to the
hard limit. What the bench's servers leave in Redis (channel-layer groups, presence entries of the bench's
organizations) is deleted after each server stops.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from proc_cpu import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
GROUP = 200
DATABASE = "docent_bench_realtime"
ORIGIN = "http://localhost"


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ------------------------------------------------------------------------------------------------ raw server


def raw_server(port: int, *, compression: bool) -> None:
    """The baseline: a minimal `websockets` server. Every socket is greeted; a `send` frame is numbered,
    acknowledged, and broadcast (encoded once) to every socket of the room. Per-message deflate as `websockets`
    does by default, or off (`--raw-compression off`, as Docent's server)."""
    import websockets
    from websockets.asyncio.server import broadcast, serve

    raise_fd_limit()
    room: set[Any] = set()
    counter = {"seq": 0}

    async def handler(ws: Any) -> None:
        member = "member=1" in (ws.request.path if ws.request else "")
        await ws.send('{"type":"hello"}')
        if member:
            room.add(ws)
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong", "ref": frame.get("ref")}))
                elif frame.get("type") == "send":
                    counter["seq"] += 1
                    message = {"seq": counter["seq"], "text": frame["text"], "client_msg_id": frame["client_msg_id"]}
                    await ws.send(json.dumps({"type": "ack", "ref": frame.get("ref"), "message": message}))
                    broadcast(room, json.dumps({"type": "message.new", "message": message}))
        except websockets.ConnectionClosed:
            pass
        finally:
            room.discard(ws)

    async def main() -> None:
        async with serve(
            handler, "127.0.0.1", port, backlog=4096, max_queue=None, compression="deflate" if compression else None
        ):
            print("ready", flush=True)
            await asyncio.Future()

    _run(main())


def _run(coroutine: Any) -> None:
    try:
        import uvloop

        uvloop.run(coroutine)
    except ImportError:
        asyncio.run(coroutine)


# ------------------------------------------------------------------------------------------------ client


class Member:
    def __init__(self, ws: Any, room: str | None) -> None:
        self.ws = ws
        self.room = room
        self.received: dict[int, float] = {}  # seq -> receive time
        self.latencies: list[float] = []
        self.duplicates = 0
        self.acks: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.errors: dict[str, int] = {}

    async def read(self) -> None:
        import websockets

        try:
            async for raw in self.ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind in ("message.new", "messages.new") and self.room is not None:
                    # Docent sends a socket that is behind several messages in one `messages.new` (batch=1).
                    for message in frame["messages"] if kind == "messages.new" else [frame["message"]]:
                        self.record(message, now)
                elif kind in ("ack", "pong", "error") and frame.get("ref") in self.acks:
                    future = self.acks.pop(frame["ref"])
                    if not future.done():
                        future.set_result(frame)
                if kind == "error":
                    self.errors[frame.get("code", "?")] = self.errors.get(frame.get("code", "?"), 0) + 1
        except websockets.ConnectionClosed:
            pass

    def record(self, message: dict[str, Any], now: float) -> None:
        if message.get("conversation", self.room) != self.room:
            return
        if message["seq"] in self.received:
            self.duplicates += 1
            return
        self.received[message["seq"]] = now
        text = message.get("text") or ""
        if text.startswith("bench "):
            self.latencies.append((now - float(text.split()[-1])) * 1000)

    async def request(self, frame: dict[str, Any], timeout: float = 30) -> dict[str, Any] | None:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[frame["ref"]] = future
        await self.ws.send(json.dumps(frame))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self.acks.pop(frame["ref"], None)
            return None


class Sockets:
    """The client's open sockets: opened `connect_concurrency` at a time, each read by a task of its own."""

    def __init__(self, room: str, concurrency: int) -> None:
        self.room = room
        self.members: list[Member] = []
        self.readers: list[asyncio.Task[None]] = []
        self.failures: list[str] = []
        self.gate = asyncio.Semaphore(concurrency)

    async def open(self, index: int, url: str, in_room: bool) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        async with self.gate:
            try:
                ws = await connect(url, origin=Origin(ORIGIN), open_timeout=60, max_queue=None, max_size=2**20)
                hello = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if hello.get("type") != "hello":
                    raise RuntimeError(f"first frame {hello.get('type')}")
            except Exception as exc:  # a refusal (close 1013) or an HTTP status at the handshake
                self.failures.append(f"{type(exc).__name__}: {exc}"[:200])
                return
        member = Member(ws, self.room if in_room else None)
        member.index = index  # type: ignore[attr-defined]
        self.members.append(member)
        self.readers.append(asyncio.create_task(member.read()))

    async def open_all(self, urls: list[str], first: int = 0) -> float:
        """Open these sockets (the first GROUP of all are the room's members); returns the seconds it took."""
        started = time.perf_counter()
        await asyncio.gather(*(self.open(i, url, i < GROUP) for i, url in enumerate(urls, start=first)))
        return time.perf_counter() - started

    async def pings(self) -> str:
        probes = random.sample(self.members, min(20, len(self.members)))
        pongs = await asyncio.gather(*(m.request({"type": "ping", "ref": f"p{i}"}) for i, m in enumerate(probes)))
        return f"{sum(p is not None for p in pongs)}/{len(probes)}"

    async def close(self) -> None:
        for member in self.members:
            await member.ws.close()
        for reader in self.readers:
            reader.cancel()


async def client(spec: dict[str, Any]) -> dict[str, Any]:
    raise_fd_limit()
    if spec.get("mode") == "max":
        return await hold_most(spec)
    server_pid = int(spec["server_pid"])
    room = str(spec["room"])
    sockets = Sockets(room, int(spec.get("connect_concurrency", 64)))
    members = sockets.members

    result: dict[str, Any] = {}
    rss_before = proc_rss_mb(server_pid)
    urls: list[str] = spec["urls"]
    result["connect_seconds"] = await sockets.open_all(urls)
    result["connected"] = len(members)
    result["failures"] = len(sockets.failures)
    result["failure_samples"] = sorted(set(sockets.failures))[:3]

    # Idle: every socket open, nothing said. What does holding them cost the server?
    await asyncio.sleep(2)
    cpu_before, idle_started = cpu_seconds(server_pid), time.perf_counter()
    await asyncio.sleep(float(spec["idle_seconds"]))
    result["idle_cpu_percent"] = 100 * (cpu_seconds(server_pid) - cpu_before) / (time.perf_counter() - idle_started)
    result["rss_mb"] = proc_rss_mb(server_pid)
    result["kb_per_socket"] = (result["rss_mb"] - rss_before) * 1024 / max(1, len(members))
    result["pings_answered"] = await sockets.pings()

    group = sorted((m for m in members if m.room is not None), key=lambda m: m.index)  # type: ignore[attr-defined]
    result["group_sockets"] = len(group)
    if group:
        result["phases"] = {}
        for phase, rate, count, senders in (
            ("moderate", float(spec["rate"]), int(spec["messages"]), 10),
            ("burst", 0.0, int(spec["burst"]), 40),
        ):
            result["phases"][phase] = await fan_out(group, room, rate=rate, count=count, senders=senders)
    await sockets.close()
    return result


async def hold_most(spec: dict[str, Any]) -> dict[str, Any]:
    """`--max`: against one server, open `step` more sockets at a time, idle, and check that 20 of all of them
    answer a ping; stop at the first step that loses a connection or a ping. Reports every step."""
    server_pid = int(spec["server_pid"])
    sockets = Sockets(str(spec["room"]), int(spec.get("connect_concurrency", 64)))
    urls: list[str] = spec["urls"]
    step, steps, held = int(spec["step"]), [], 0
    for first in range(0, len(urls), step):
        failed_before = len(sockets.failures)
        seconds = await sockets.open_all(urls[first : first + step], first)
        await asyncio.sleep(2)
        pings = await sockets.pings()
        failed = len(sockets.failures) - failed_before
        steps.append(
            {
                "sockets": first + min(step, len(urls) - first),
                "held": len(sockets.members),
                "failed": failed,
                "connect_per_second": min(step, len(urls) - first) / max(seconds, 1e-9),
                "pings": pings,
                "rss_mb": proc_rss_mb(server_pid),
                "open_files": len(os.listdir(f"/proc/{server_pid}/fd")),
            }
        )
        if failed or pings.split("/")[0] != pings.split("/")[1]:
            break
        held = len(sockets.members)
    await sockets.close()
    return {"steps": steps, "held": held, "failure_samples": sorted(set(sockets.failures))[:3]}


PER_SENDER_RATE = 8.0  # under Docent's per-connection flood limit (10 frames/s)


async def fan_out(group: list[Member], room: str, *, rate: float, count: int, senders: int) -> dict[str, Any]:
    """`count` messages from `senders` members of the group, at `rate` messages/s in all (0: each sender as fast
    as its acks come back, within the flood limit); then wait until every member has every message or 20 s."""
    for member in group:
        member.received.clear()
        member.latencies.clear()
        member.duplicates = 0
    senders_list = group[:senders]
    acked: list[int] = []
    sent_at: dict[int, float] = {}
    lost_sends = 0
    tag = f"{time.time_ns()}"

    async def sender(k: int, member: Member) -> None:
        nonlocal lost_sends
        mine = range(k, count, len(senders_list))
        start = time.perf_counter()
        interval = len(senders_list) / rate if rate else 1 / PER_SENDER_RATE
        for n, i in enumerate(mine):
            delay = start + n * interval + (k * interval / len(senders_list)) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            answer = await member.request(
                {
                    "type": "send",
                    "ref": f"{tag}-{i}",
                    "conversation": room,
                    "client_msg_id": f"{tag}-{i}",
                    "text": f"bench {i} {sent:.6f}",
                }
            )
            if answer is None or answer.get("type") != "ack":
                lost_sends += 1
            else:
                acked.append(int(answer["message"]["seq"]))
                sent_at[acked[-1]] = sent

    started = time.perf_counter()
    await asyncio.gather(*(sender(k, m) for k, m in enumerate(senders_list)))
    sent_seconds = time.perf_counter() - started
    expected = set(acked)
    deadline = time.perf_counter() + 20
    while time.perf_counter() < deadline and not all(expected <= m.received.keys() for m in group):
        await asyncio.sleep(0.05)
    last_delivery = max((t for m in group for s, t in m.received.items() if s in expected), default=started)
    delivered = sum(len(expected & m.received.keys()) for m in group)
    latencies = [v for m in group for v in m.latencies]
    timeline = {}  # seq -> [sent, first delivery, last delivery] on the machine's monotonic clock (--trace)
    for seq, sent in sent_at.items():
        times = [m.received[seq] for m in group if seq in m.received]
        timeline[seq] = [sent, min(times, default=None), max(times, default=None)]
    return {
        "timeline": timeline,
        "messages": len(expected),
        "send_failures": lost_sends,
        "offered_rate": rate or None,
        "send_seconds": sent_seconds,
        "deliveries": delivered,
        "deliveries_per_second": delivered / max(1e-9, last_delivery - started),
        "messages_per_second": len(expected) / max(1e-9, last_delivery - started),
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "drops": len(expected) * len(group) - delivered,
        "duplicates": sum(m.duplicates for m in group),
        "errors": {code: sum(m.errors.get(code, 0) for m in group) for code in {c for m in group for c in m.errors}},
    }


# ------------------------------------------------------------------------------------------------ orchestrator


def orchestrate(args: argparse.Namespace) -> int:
    fd_limit = raise_fd_limit()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from throwaway_db import drop_database, throwaway_database

    conninfo = throwaway_database(DATABASE)
    from config.embedded import redis_answers

    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    layer = "channels_redis" if redis_answers(redis_url) else "in-memory"
    if layer == "in-memory":
        redis_url = ""
        os.environ["REDIS_URL"] = ""

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    levels = [int(n) for n in args.sockets.split(",")]
    most = max([*levels, args.max_sockets if args.max else 0])
    people, rooms = populate(most)
    cores = os.cpu_count()
    print(
        f"bench-realtime: {cores} cores, load average {os.getloadavg()[0]:.2f} at start, open files {fd_limit}; "
        f"channel layer: {layer}{' (' + redis_url + ')' if redis_url else ' (no Redis answered: one process)'}"
    )
    from run import WEBSOCKET_ARGS

    print(
        f"Docent's uvicorn: {' '.join([*WEBSOCKET_ARGS, *os.environ.get('BENCH_UVICORN_ARGS', '').split()])}; "
        f"raw server's per-message deflate: {args.raw_compression}"
    )
    print(
        f"group of {GROUP}: {args.messages} messages at {args.rate:g}/s from 10 members, then {args.burst} "
        f"back to back from 40; idle phase {args.idle:g} s; latencies in ms from send to delivery"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
    }
    results: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        for n in levels:
            for kind in ("docent", "raw"):
                results[(kind, n)] = run_level(kind, n, people, rooms, env, args)
                print_row(kind, n, results[(kind, n)])
                if "trace" in results[(kind, n)]:
                    print_trace(results[(kind, n)])
        print_ratios(levels, results)
        if args.max:
            push_until_failure(people, rooms, env, args)
    finally:
        if not args.keep_db:
            drop_database(conninfo, DATABASE)
    return 0


def populate(count: int) -> tuple[list[tuple[str, str]], list[str]]:
    """Organizations of GROUP members each (one password hash for all), each with a group of all its members.
    Returns (user id, organization id) per member, and the group of each organization."""
    from django.contrib.auth.hashers import make_password

    from apps.chatbot.models import Conversation, Participant
    from apps.organizations.models import Membership, Organization, Role
    from apps.users.models import User

    organizations = (count + GROUP - 1) // GROUP
    password = make_password("bench-realtime-password")
    people: list[tuple[str, str]] = []
    rooms: list[str] = []
    for o in range(organizations):
        org = Organization.objects.create(slug=f"bench-rt-{o}", name=f"Bench realtime {o}")
        users = User.objects.bulk_create(
            [User(email=f"rt-{o}-{i}@bench.docent.local", password=password) for i in range(GROUP)]
        )
        Membership.objects.bulk_create(
            [
                Membership(organization=org, user=u, role=Role.OWNER if i == 0 else Role.MEMBER)
                for i, u in enumerate(users)
            ]
        )
        room = Conversation.objects.create(
            organization=org, kind=Conversation.Kind.GROUP, source=Conversation.Source.ROOM, title=f"All of {o}"
        )
        Participant.objects.bulk_create(
            [Participant(organization=org, conversation=room, kind=Participant.Kind.USER, user=u) for u in users]
        )
        people += [(str(u.pk), str(org.pk)) for u in users]
        rooms.append(str(room.pk))
    return people, rooms


def tickets(people: list[tuple[str, str]]) -> list[str]:
    """One single-use ticket per socket, issued as the ticket endpoint issues them (valid long enough for the
    bench to open every socket)."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.chat.models import RealtimeTicket
    from apps.chat.services import TICKET_PREFIX
    from common.security.tokens import token_issue

    expires = timezone.now() + timedelta(minutes=20)
    issued = [token_issue(TICKET_PREFIX) for _ in people]
    RealtimeTicket.objects.bulk_create(
        [
            RealtimeTicket(organization_id=org, user_id=user, token_hash=t.digest, expires_at=expires)
            for (user, org), t in zip(people, issued, strict=True)
        ],
        batch_size=2000,
    )
    return [t.plaintext for t in issued]


def start_server(
    kind: str, env: dict[str, str], trace: str | None = None, *, raw_compression: bool = True
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    if kind == "raw":
        command = [sys.executable, __file__, "raw", "--port", str(port)]
        command += [] if raw_compression else ["--no-compression"]
    else:
        from run import WEBSOCKET_ARGS  # scripts/run.py: as `make run` and the deployments start the server

        profile = os.environ.get("BENCH_PROFILE")  # a file: where the server's profile is written (pyinstrument)
        if trace:
            runner = [sys.executable, __file__, "traced", trace]
        elif profile:
            runner = [sys.executable, __file__, "profiled", profile]
        else:
            runner = [str(Path(sys.executable).parent / "uvicorn")]
        command = [
            *runner,
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--backlog",
            "4096",
            "--timeout-graceful-shutdown",
            "5",
            *WEBSOCKET_ARGS,
            *os.environ.get("BENCH_UVICORN_ARGS", "").split(),
        ]
    log = open(Path(tempfile.gettempdir()) / f"bench-realtime-{kind}.log", "ab")  # noqa: SIM115
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, preexec_fn=raise_fd_limit, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 90
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the {kind} server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"ws://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run_level(
    kind: str,
    n: int,
    people: list[tuple[str, str]],
    rooms: list[str],
    env: dict[str, str],
    args: argparse.Namespace,
    *,
    mode: str = "level",
) -> dict[str, Any]:
    trace = str(Path(tempfile.gettempdir()) / f"bench-realtime-trace-{os.getpid()}.json") if args.trace else None
    server, base = start_server(
        kind, env, trace if kind == "docent" else None, raw_compression=args.raw_compression == "on"
    )
    result: dict[str, Any] = {}
    try:
        chosen = people[:n]
        if kind == "docent":
            urls = [f"{base}/ws/?batch=1&ticket={t}" for t in tickets(chosen)]
        else:
            urls = [f"{base}/ws/?{'member=1' if i < GROUP else 'idle=1'}" for i in range(n)]
        spec = {
            "server_pid": server.pid,
            "urls": urls,
            "room": rooms[0],
            "idle_seconds": args.idle,
            "rate": args.rate,
            "messages": args.messages,
            "burst": args.burst,
            "mode": mode,
            "step": args.step,
        }
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(spec, handle)
        out = subprocess.run(
            [sys.executable, __file__, "client", handle.name],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            preexec_fn=raise_fd_limit,
        )
        os.unlink(handle.name)
        result = dict(json.loads(out.stdout.strip().splitlines()[-1]))
        return result
    finally:
        if kind == "docent":
            server.send_signal(signal.SIGINT)  # uvicorn stops gracefully (and a profiler writes its report)
        else:
            server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if kind == "docent":
            redis_cleanup(env.get("REDIS_URL", ""), {org for _, org in people} | set(rooms))
        if trace and kind == "docent" and Path(trace).exists():
            result["trace"] = json.loads(Path(trace).read_text())
            os.unlink(trace)


def redis_cleanup(redis_url: str, ids: set[str]) -> int:
    """Delete what the bench's server left in the shared Redis: channel-layer groups (a day's expiry) and
    presence entries of the bench's organizations, members and rooms (keys that name one of `ids`)."""
    if not redis_url:
        return 0
    import redis

    client = redis.Redis.from_url(redis_url)
    doomed = []
    for pattern in ("asgi:group:*", "*presence:*"):
        for key in client.scan_iter(match=pattern, count=1000):
            name = key.decode(errors="replace")
            parts = name.replace(":", ".").split(".")
            if any(part in ids for part in parts):
                doomed.append(key)
    for start in range(0, len(doomed), 1000):
        client.delete(*doomed[start : start + 1000])
    client.close()
    return len(doomed)


HEADER = (
    f"{'server':>7} {'sockets':>7} {'held':>6} {'conn/s':>7} {'idle CPU':>8} {'KB/sock':>8} "
    f"{'phase':>8} {'msgs':>5} {'msg/s':>6} {'deliv/s':>8} {'p50':>7} {'p99':>7} {'max':>7} {'drops':>5} {'dups':>4}"
)


def print_row(kind: str, n: int, r: dict[str, Any]) -> None:
    if not getattr(print_row, "header", False):
        print(HEADER)
        print_row.header = True  # type: ignore[attr-defined]
    head = (
        f"{kind:>7} {n:>7} {r['connected']:>6} {r['connected'] / max(r['connect_seconds'], 1e-9):>7.0f} "
        f"{r['idle_cpu_percent']:>7.1f}% "
        f"{r['kb_per_socket']:>8.1f}"
    )
    for phase, p in r.get("phases", {}).items():
        print(
            f"{head} {phase:>8} {p['messages']:>5} {p['messages_per_second']:>6.0f} {p['deliveries_per_second']:>8.0f} "
            f"{p['p50_ms']:>7.1f} "
            f"{p['p99_ms']:>7.1f} {p['max_ms']:>7.1f} {p['drops']:>5} {p['duplicates']:>4}"
            + (f"  errors {p['errors']}" if p["errors"] else "")
            + (f"  unacked sends {p['send_failures']}" if p["send_failures"] else "")
        )
        head = " " * len(head)
    if r["failures"]:
        print(f"{'':>7} {n:>7} failed connections: {r['failures']} e.g. {r['failure_samples']}")
    print(f"{'':>7} {'':>7} pings answered after the idle phase: {r['pings_answered']}", flush=True)


STAGES = (
    ("sent", "the client sent the frame"),
    ("received", "the server's socket took it"),
    ("committed", "stored and committed"),
    ("rung", "the ring was handed to the channel layer"),
    ("hub_rang", "the hub was rung: by the committing thread, a ring or the sender"),
    ("read_asked", "the hub asked the database"),
    ("read_done", "the hub's read came back"),
    ("handed", "every socket was handed its frames"),
    ("written_first", "the first socket's send completed"),
    ("written_last", "the last socket's send completed"),
    ("delivered_first", "the first member's client read it"),
    ("delivered_last", "the last member's client read it"),
)


def _window(rows: list[list[Any]], start: float, end: float, *, duration: int) -> list[list[Any]]:
    """The rows (each [start, ..., duration at index `duration`...]) that overlap [start, end]."""
    return [r for r in rows if r[0] <= end and r[0] + r[duration] >= start]


def print_trace(result: dict[str, Any]) -> None:
    """--trace: per phase, how long each stage took (p50/p99/max over the messages), the slowest messages stage by
    stage, and what the server's process did meanwhile: GC pauses, event-loop stalls, thread-pool waits."""
    server = result["trace"]
    marks: dict[str, dict[str, float]] = server["marks"]
    gcs, stalls = server["gc"], server["stalls"]
    calls = [[name, queued, began - queued, end - began] for name, queued, began, end in server["calls"]]
    print(f"        trace (gc thresholds {server['gc_thresholds']}, frozen objects {server['gc_frozen']}):")
    full = [x for x in gcs if x[2] == 2]
    print(
        f"        whole run: {len(full)} full collections, pauses "
        f"{', '.join(f'{x[1] * 1000:.0f}' for x in full[:12])} ms; objects tracked after the first: "
        f"{', '.join(f'{x[4]:,}' for x in full if len(x) > 4 and x[4])}"
    )
    for phase, p in result.get("phases", {}).items():
        rows = []
        for seq, (sent, first, last) in p["timeline"].items():
            if last is None:
                continue
            row = {**marks.get(seq, {}), "sent": sent, "delivered_first": first, "delivered_last": last}
            row["seq"] = int(seq)
            rows.append(row)
        if not rows:
            continue
        start = min(r["sent"] for r in rows)
        end = max(r["delivered_last"] for r in rows)
        print(f"        {phase}: {len(rows)} messages over {end - start:.1f} s; ms per stage, p50 / p99 / max")
        names = [name for name, _ in STAGES]
        for (a, _), (b, what) in itertools.pairwise(STAGES):
            deltas = [(r[b] - r[a]) * 1000 for r in rows if a in r and b in r]
            if deltas:
                print(
                    f"          {a:>15} -> {b:<15} {pct(deltas, 0.5):8.1f} {pct(deltas, 0.99):8.1f} "
                    f"{max(deltas):8.1f}  ({what})"
                )
        pauses = _window(gcs, start, end, duration=1)
        by_gen = {g: [x[1] for x in pauses if x[2] == g] for g in (0, 1, 2)}
        print(
            "          GC pauses >= 1 ms: "
            + ", ".join(
                f"gen{g} {len(v)} (max {max(v, default=0) * 1000:.0f} ms, total {sum(v) * 1000:.0f} ms)"
                for g, v in by_gen.items()
            )
        )
        walked = [x[4] for x in pauses if len(x) > 4 and x[4]]
        if walked:
            print(f"          objects tracked after full collections: {', '.join(f'{n:,}' for n in walked)}")
        lags = [x[1] for x in _window(stalls, start, end, duration=1)]
        print(
            f"          event-loop stalls >= 10 ms: {len(lags)} (max {max(lags, default=0) * 1000:.0f} ms, "
            f"total {sum(lags) * 1000:.0f} ms)"
        )
        during = [c for c in calls if start <= c[1] <= end]
        for name in sorted({c[0] for c in during}):
            waits = [c[2] * 1000 for c in during if c[0] == name]
            runs = [c[3] * 1000 for c in during if c[0] == name]
            print(
                f"          thread pool {name}: {len(runs)} calls, waited p50 {pct(waits, 0.5):.1f} max "
                f"{max(waits):.1f} ms, ran p50 {pct(runs, 0.5):.1f} p99 {pct(runs, 0.99):.1f} max {max(runs):.1f} ms"
            )
        print("          slowest messages (ms from the send at each stage; what overlapped them):")
        for r in sorted(rows, key=lambda r: r["delivered_last"] - r["sent"], reverse=True)[:5]:
            at = " ".join(f"{n}={(r[n] - r['sent']) * 1000:.0f}" for n in names[1:] if n in r)
            sent, last = r["sent"], r["delivered_last"]
            gc_hits = [f"gen{x[2]} {x[1] * 1000:.0f}" for x in _window(gcs, sent, last, duration=1)]
            lag_hits = [f"{x[1] * 1000:.0f}" for x in _window(stalls, sent, last, duration=1)]
            slow_calls = [
                f"{c[0]} waited {c[2] * 1000:.0f} ran {c[3] * 1000:.0f}"
                for c in sorted(calls, key=lambda c: -(c[2] + c[3]))
                if c[1] <= last and c[1] + c[2] + c[3] >= sent and c[2] + c[3] > 0.02
            ][:6]
            print(f"            seq {r['seq']}: {at}")
            print(f"              gc [{', '.join(gc_hits)}] loop stalls [{', '.join(lag_hits)}]")
            print(f"              longest thread-pool calls over 20 ms: {', '.join(slow_calls) or 'none'}")


def print_ratios(levels: list[int], results: dict[tuple[str, int], dict[str, Any]]) -> None:
    print("\nDocent / raw websockets (lower latency ratio and higher throughput ratio are better):")
    for n in levels:
        docent, raw = results[("docent", n)], results[("raw", n)]
        for phase in docent.get("phases", {}):
            d, r = docent["phases"][phase], raw["phases"][phase]
            print(
                f"  {n:>6} sockets, {phase:>8}: p50 x{d['p50_ms'] / r['p50_ms']:.1f}, "
                f"p99 x{d['p99_ms'] / r['p99_ms']:.1f}, "
                f"messages/s x{d['messages_per_second'] / r['messages_per_second']:.2f}, "
                f"deliveries/s x{d['deliveries_per_second'] / r['deliveries_per_second']:.2f}"
            )
        rates = [x["connected"] / max(x["connect_seconds"], 1e-9) for x in (docent, raw)]
        print(
            f"  {n:>6} sockets, idle CPU {docent['idle_cpu_percent']:.1f}% vs {raw['idle_cpu_percent']:.1f}%, "
            f"memory {docent['kb_per_socket']:.0f} vs {raw['kb_per_socket']:.0f} KB/socket, "
            f"connects/s {rates[0]:.0f} vs {rates[1]:.0f}"
        )


def push_until_failure(
    people: list[tuple[str, str]], rooms: list[str], env: dict[str, str], args: argparse.Namespace
) -> None:
    """One Docent server: `--step` more idle sockets at a time until a step loses a connection or a ping."""
    count = min(args.max_sockets, len(people))
    print(f"\nThe most sockets one Docent process holds ({args.step} more at a time, up to {count}):")
    r = run_level("docent", count, people, rooms, env, args, mode="max")
    for step in r["steps"]:
        print(
            f"  {step['sockets']:>6} sockets: held {step['held']}, {step['failed']} failed, pings {step['pings']}, "
            f"{step['connect_per_second']:.0f} connects/s, server RSS {step['rss_mb']:.0f} MB, "
            f"{step['open_files']} open files",
            flush=True,
        )
    if r["failure_samples"]:
        print(f"  failures, e.g. {r['failure_samples']}")
    print(f"Most sockets held by one Docent process: {r['held']}" + ("" if r["failure_samples"] else " (all asked)"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode")
    raw = sub.add_parser("raw")
    raw.add_argument("--port", type=int, required=True)
    raw.add_argument("--no-compression", action="store_true")
    profiled = sub.add_parser("profiled")  # uvicorn's command line, under pyinstrument
    profiled.add_argument("out")
    profiled.add_argument("uvicorn_args", nargs=argparse.REMAINDER)
    traced = sub.add_parser("traced")  # uvicorn's command line, recording apps.chat.trace
    traced.add_argument("out")
    traced.add_argument("uvicorn_args", nargs=argparse.REMAINDER)
    one = sub.add_parser("client")
    one.add_argument("spec")
    parser.add_argument("--sockets", default="1000,5000", help="levels, comma-separated")
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s in the moderate phase")
    parser.add_argument("--messages", type=int, default=200, help="messages in the moderate phase")
    parser.add_argument("--burst", type=int, default=400, help="messages in the back-to-back phase")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of the idle phase")
    parser.add_argument(
        "--max",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="then push one Docent process until it fails (--no-max: skip)",
    )
    parser.add_argument("--step", type=int, default=2000)
    parser.add_argument("--max-sockets", type=int, default=16000)
    parser.add_argument(
        "--raw-compression",
        choices=("on", "off"),
        default="on",
        help="per-message deflate on the raw server: on (websockets' default) or off (as Docent's server)",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="record where each message's time goes in the Docent server (apps.chat.trace) and print it",
    )
    args = parser.parse_args()
    if args.mode == "raw":
        raw_server(args.port, compression=not args.no_compression)
        return 0
    if args.mode == "profiled":
        from pyinstrument import Profiler
        from uvicorn.main import main as uvicorn_main

        sys.path.insert(0, str(ROOT))
        profiler = Profiler(interval=0.002)
        profiler.start()
        try:
            uvicorn_main(args.uvicorn_args, standalone_mode=False)
        finally:
            profiler.stop()
            Path(args.out).write_text(profiler.output_text(show_all=False))
        return 0
    if args.mode == "traced":
        sys.path.insert(0, str(ROOT))
        from uvicorn.main import main as uvicorn_main

        from apps.chat import trace

        trace.start()
        try:
            uvicorn_main(args.uvicorn_args, standalone_mode=False)
        finally:
            trace.dump(args.out)
        return 0
    if args.mode == "client":
        spec = json.loads(Path(args.spec).read_text())
        box: dict[str, Any] = {}

        async def go() -> None:
            box.update(await client(spec))

        _run(go())
        print(json.dumps(box))
        return 0
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
