"""`make bench-cluster`: how Docent's web tier scales with replicas, and realtime fan-out across replicas.

Starts a `make cluster` (3 replicas behind HAProxy, 2 workers, beat, a Redis of its own, the production settings)
and seeds an organization: HANDBOOKS indexed documents, an API key without rate limit, a bot on the loopback
OpenAI-compatible provider (no delay: the CPU cost is Docent's own). Then, in one run, with 1, 2 and 3 replicas in
rotation (the others set to maintenance through HAProxy's admin socket), it drives each CPU-bound endpoint for
SECONDS with CONCURRENCY requests in flight through the balancer: search (hybrid), chat (a whole answer, JSON),
an authenticated read (GET /api/v1/bots with the key). It prints throughput, p50 and p95, and the speed-up over one
replica. Last, realtime fan-out: receiving sockets spread over the three replicas, senders on every replica; it
prints messages/s, deliveries/s, delivery latency p50/p99 and drops (a ring lost or a message never delivered),
at two sending rates.

Each row also shows the CPU time one request cost each process (from /proc and the load generator's rusage): the
replica (r), PostgreSQL and Redis (d), HAProxy and the load generator (c). Unlike throughput, these do not depend
on the share of the cores the machine's other work leaves, and they bound the speed-up: a replica uses one core
at most, and on a machine of K cores shared by every tier, n replicas serve at most
min(n, K·r/(r+d+c)) / min(1, K·r/(r+d+c)) times what one serves (2r/(r+d+c) from 1 to 2 on 2 cores). The row
prints that bound next to the measured ratio and how many cores its processes kept busy; a line under the
2-replica row says what capped the step from 1 to 2, from the whole machine's CPU (/proc/stat): the cores (full
with our processes), the machine's other work (full, partly with others'), or neither (cores left idle: Docent,
or too few requests in flight).

The load generator is wrk (Debian's package, C: installed with apt-get when missing and run as root), one thread,
a Lua script for the method, body and API key; without it, a Python (httpx) generator, which costs several times
the CPU per request and lowers the bound (the output says which ran).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from proc_cpu import cpu_seconds, machine_busy_seconds, postgres_pids  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402
from websockets.typing import Origin, Subprotocol  # noqa: E402

from apps.chatbot_provider.tests.loopback import LoopbackServer  # noqa: E402
from tests.cluster.harness import Cluster, start_cluster, wait_for  # noqa: E402

QUESTION = "How many vacation days do employees get per year?"
IDLE = 30.0  # realtime: a receiving socket that got nothing for this long has everything it will get


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per endpoint and replica count")
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--handbooks", type=int, default=30, help="documents indexed before measuring")
    parser.add_argument("--senders", type=int, default=6, help="realtime: sending sockets (2 per replica)")
    parser.add_argument("--receivers", type=int, default=9, help="realtime: receiving sockets (3 per replica)")
    parser.add_argument(
        "--rates",
        default="2,8",
        help="realtime: messages/s per sender, one run each (the per-socket limit is 10; '' for none)",
    )
    parser.add_argument("--replica-counts", default="1,2,3", help="rows per endpoint: replicas in rotation")
    parser.add_argument("--only", default="", help="endpoints whose name contains this (search, chat, read)")
    parser.add_argument("--python-load", action="store_true", help="the Python load generator even when wrk is here")
    return parser.parse_args()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))] if ordered else float("nan")


def haproxy(cluster: Cluster, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as admin:
        admin.connect(str(cluster.directory / "haproxy.sock"))
        admin.sendall(command.encode() + b"\n")
        return admin.recv(65536).decode()


@dataclass
class Cpu:
    """CPU seconds per tier over one measured run."""

    web: float
    db: float
    redis: float
    balancer: float
    client: float

    def per_request(self, served: int) -> Cpu:
        n = max(served, 1)
        return Cpu(self.web / n, self.db / n, self.redis / n, self.balancer / n, self.client / n)

    @property
    def total(self) -> float:
        return self.web + self.db + self.redis + self.balancer + self.client


def speed_up_bound(cpu: Cpu, replicas: int, cores: int) -> float:
    """The most n replicas can give over one on `cores` cores shared by every tier: a replica is one process (one
    core at most), and every request also costs the database, Redis, the balancer and the load generator."""
    share = cores * cpu.web / cpu.total if cpu.total else float("nan")
    return min(replicas, share) / min(1.0, share)


class CpuMeter:
    """CPU seconds used by the web replicas, PostgreSQL, Redis and HAProxy between start() and stop(): what one
    request costs each tier, whatever share of the cores the machine's other work left us."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def _sample(self) -> tuple[float, float, float, float]:
        state = self.cluster.state()

        def named(name: str) -> float:
            return sum(cpu_seconds(e["pid"]) for e in state["processes"] if e["name"] == name and e["pid"])

        web = sum(cpu_seconds(entry["pid"]) for entry in state["replicas"] if entry["pid"])
        return web, sum(cpu_seconds(pid) for pid in postgres_pids()), named("redis"), named("haproxy")

    def start(self) -> None:
        self.before, self.machine_before = self._sample(), machine_busy_seconds()

    def stop(self) -> tuple[float, float, float, float]:
        after = self._sample()
        self.machine = machine_busy_seconds() - self.machine_before  # every process's, ours included
        web, db, redis, balancer = (a - b for a, b in zip(after, self.before, strict=True))
        return web, db, redis, balancer


@dataclass
class Run:
    served: int  # answered 200
    errors: int
    p50: float  # seconds
    p95: float
    client_cpu: float  # the load generator's CPU seconds
    seconds: float  # how long it drove


class Wrk:
    """wrk, one thread, `concurrency` connections; a Lua script sets the method, body and headers and prints the
    counts and percentiles as JSON when done. Its CPU time comes from its rusage (os.wait4)."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary, self.directory = binary, directory
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
        self.version = (version.stdout or version.stderr).split("[")[0].strip()

    @staticmethod
    def script(request: dict[str, Any]) -> str:
        def lua(value: str) -> str:
            assert "]==]" not in value
            return f"[==[{value}]==]"

        headers = dict(request.get("headers") or {})
        lines = [f"wrk.method = {lua(request['method'])}"]
        if "json" in request:
            lines.append(f"wrk.body = {lua(json.dumps(request['json']))}")
            headers["Content-Type"] = "application/json"
        lines += [f"wrk.headers[ {lua(name)} ] = {lua(value)}" for name, value in headers.items()]
        lines.append(
            """function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nRESULT {"requests": %d, "status": %d, "socket": %d, "p50": %d, "p95": %d, "us": %d}\\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), summary.duration))
end"""
        )
        return "\n".join(lines) + "\n"

    def run(self, url: str, request: dict[str, Any], seconds: float, concurrency: int) -> Run:
        script = self.directory / "request.lua"
        script.write_text(self.script(request))
        output = self.directory / "wrk.out"
        command = [self.binary, "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "60s"]
        with output.open("w") as out:
            process = subprocess.Popen([*command, "-s", str(script), url + request["url"]], stdout=out, stderr=out)
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        text = output.read_text()
        lines = [line for line in text.splitlines() if line.startswith("RESULT ")]
        if process.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed ({process.returncode}):\n{text[-2000:]}")
        result = json.loads(lines[-1][len("RESULT ") :])
        served = int(result["requests"]) - int(result["status"])
        return Run(
            served,
            int(result["status"]) + int(result["socket"]),
            result["p50"] / 1e6,
            result["p95"] / 1e6,
            usage.ru_utime + usage.ru_stime,
            result["us"] / 1e6,
        )


class PythonLoad:
    """httpx on asyncio in this process: the fallback when wrk cannot be had. Its CPU is this process's."""

    version = f"Python (httpx {httpx.__version__})"

    def run(self, url: str, request: dict[str, Any], seconds: float, concurrency: int) -> Run:
        before, started = sum(os.times()[:2]), time.perf_counter()
        latencies, errors = asyncio.run(drive(url, request, seconds, concurrency))
        cpu, elapsed = sum(os.times()[:2]) - before, time.perf_counter() - started
        return Run(len(latencies), errors, percentile(latencies, 50), percentile(latencies, 95), cpu, elapsed)


def load_generator(args: argparse.Namespace, directory: Path) -> Wrk | PythonLoad:
    """wrk when it is installed or can be (apt-get as root); otherwise the Python one, saying why."""
    from config.embedded import ensure_binary

    if args.python_load:
        return PythonLoad()
    binary = ensure_binary("wrk", "wrk")
    if binary:
        return Wrk(binary, directory)
    print(
        "note: wrk is not installed and cannot be installed here (`sudo apt-get install -y wrk`): the load comes "
        "from a Python generator, whose CPU per request is several times wrk's and lowers the speed-up bound.",
        flush=True,
    )
    return PythonLoad()


def rotate(cluster: Cluster, replicas: int) -> None:
    for i in range(1, len(cluster.replica_ports) + 1):
        state = "ready" if i <= replicas else "maint"
        haproxy(cluster, f"set server replicas/web-{i} state {state}")
    time.sleep(1.5)


async def drive(url: str, request: dict[str, Any], seconds: float, concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                response = await client.request(**request)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies, errors


def endpoints(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {data['key']['key']}"}
    return {
        "search (hybrid, top 8)": {
            "method": "POST",
            "url": "/api/v1/search",
            "json": {"query": QUESTION, "collection_ids": [data["collection"]]},
            "headers": headers,
        },
        "chat (loopback provider)": {
            "method": "POST",
            "url": f"/api/v1/bots/{data['slow_bot']}/chat",
            "json": {"message": QUESTION},
            "headers": headers,
        },
        "authenticated read (GET /bots)": {"method": "GET", "url": "/api/v1/bots", "headers": headers},
    }


def web_tier(cluster: Cluster, data: dict[str, Any], args: argparse.Namespace, load: Wrk | PythonLoad) -> None:
    cores = os.cpu_count() or 1
    counts = [int(n) for n in args.replica_counts.split(",") if n.strip()]
    print(
        f"\n{'endpoint':31} {'reps':>4} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'x 1 rep':>7} {'bound':>6} "
        f"{'err':>3} | {'CPU ms/req: web':>15} {'pg':>4} {'redis':>5} {'lb':>4} {'load':>4} | {'cores busy':>10}"
    )
    meter = CpuMeter(cluster)
    for name, request in endpoints(data).items():
        if args.only and args.only not in name:
            continue
        baseline, first = None, None
        for replicas in counts:
            rotate(cluster, replicas)
            load.run(cluster.url, request, 2.0, args.concurrency)  # warm-up
            meter.start()
            run = load.run(cluster.url, request, args.seconds, args.concurrency)
            cpu = Cpu(*meter.stop(), run.client_cpu)
            throughput = run.served / run.seconds
            baseline = baseline or (throughput if replicas == 1 else None)
            ratio = f"{throughput / baseline:>6.2f}x" if baseline else f"{'':>7}"
            each = cpu.per_request(run.served)
            first = first if replicas != 1 else each
            print(
                f"{name:31} {replicas:>4} {throughput:>6.1f} {run.p50 * 1000:>7.1f} {run.p95 * 1000:>7.1f} {ratio} "
                f"{speed_up_bound(each, replicas, cores):>5.2f}x {run.errors:>3} | {each.web * 1000:>15.1f} "
                f"{each.db * 1000:>4.1f} {each.redis * 1000:>5.1f} {each.balancer * 1000:>4.1f} "
                f"{each.client * 1000:>4.1f} | {cpu.total / run.seconds:>5.2f} of {cores}",
                flush=True,
            )
            if replicas == 2 and baseline and first:
                ours, everyone = cpu.total / run.seconds, meter.machine / run.seconds
                print(f"{'':32}{verdict(throughput / baseline, first, each, ours, everyone, cores)}", flush=True)
    rotate(cluster, len(cluster.replica_ports))


def verdict(ratio: float, first: Cpu, each: Cpu, ours: float, everyone: float, cores: int) -> str:
    """What capped the step from 1 to 2 replicas: the cores (full with our work), other work on the machine, or
    neither (cores left idle). A ratio above its bound (which takes the replica's CPU per request as constant)
    comes from a 1-replica row that cost more per request, or was slowed."""
    bound = speed_up_bound(each, 2, cores)
    said = f"1 -> 2 replicas: {ratio:.2f}x of at most {bound:.2f}x; the machine's cores busy {everyone:.2f} of {cores}"
    others = max(0.0, everyone - ours)
    if ratio > 1.05 * bound:
        return (
            f"{said}: above the bound, the replica's CPU per request being {first.web * 1000:.1f} ms at 1 replica "
            f"against {each.web * 1000:.1f} ms at 2 (one process with every request in flight), or other work then"
        )
    if everyone < 0.9 * cores:
        return f"{said}, not full: the cap is not the cores (Docent, or too few requests in flight)"
    if others > 0.1 * cores:
        return f"{said}, {others:.2f} of them other work's: the machine's other work is the cap; re-run it quiet"
    return f"{said}, all ours: the cores are the cap"


async def fan_out(cluster: Cluster, data: dict[str, Any], args: argparse.Namespace, rate: float) -> None:
    room, organization = data["room"], data["organization"]
    bases = cluster.replica_urls

    async def open_socket(base: str, who: str) -> Any:
        url = base.replace("http://", "ws://") + f"/ws/?organization={organization}"
        protocols = [Subprotocol("docent.v1"), Subprotocol(f"docent.jwt.{data[who]['jwt']}")]
        socket_ = await connect(url, subprotocols=protocols, origin=Origin(base), max_queue=None)
        while json.loads(await socket_.recv())["type"] != "hello":
            pass
        return socket_

    receivers = [await open_socket(bases[i % len(bases)], "owner") for i in range(args.receivers)]
    senders = [await open_socket(bases[i % len(bases)], "member") for i in range(args.senders)]
    sent_at: dict[str, float] = {}
    received: list[dict[str, float]] = [{} for _ in receivers]
    sending_done = asyncio.Event()

    async def receive(index: int, socket_: Any) -> None:
        """Until this socket has every message sent, or nothing came for IDLE seconds (what is missing then is
        counted as dropped: late deliveries are latency, not drops)."""
        while not (sending_done.is_set() and len(received[index]) >= len(sent_at)):
            try:
                frame = json.loads(await asyncio.wait_for(socket_.recv(), timeout=IDLE))
            except TimeoutError:
                return
            if frame["type"] == "message.new" and frame["message"]["text"] in sent_at:
                received[index][frame["message"]["text"]] = time.perf_counter()

    async def send(socket_: Any) -> None:
        deadline = time.perf_counter() + args.seconds
        while time.perf_counter() < deadline:
            text = f"fan-out {uuid.uuid4().hex}"
            sent_at[text] = time.perf_counter()
            await socket_.send(json.dumps({"type": "send", "conversation": room, "text": text, "client_msg_id": text}))
            await asyncio.sleep(1 / rate)

    async def drain(socket_: Any) -> None:  # the senders' own acks and echoes
        try:
            while True:
                await socket_.recv()
        except Exception:
            return

    receiving = [asyncio.create_task(receive(i, s)) for i, s in enumerate(receivers)]
    draining = [asyncio.create_task(drain(s)) for s in senders]
    started = time.perf_counter()
    await asyncio.gather(*(send(s) for s in senders))
    elapsed = time.perf_counter() - started
    sending_done.set()
    await asyncio.gather(*receiving)
    for task in draining:
        task.cancel()
    latencies = [at - sent_at[text] for got in received for text, at in got.items()]
    expected = len(sent_at) * len(receivers)
    print(
        f"\nrealtime fan-out: {len(senders)} senders at {rate:g} messages/s each, {len(receivers)} receivers, over "
        f"{len(bases)} replicas, one room, {elapsed:.1f} s\n"
        f"  messages: {len(sent_at)} sent, {len(sent_at) / elapsed:.1f} messages/s; deliveries: {len(latencies)} "
        f"of {expected}, {len(latencies) / elapsed:.1f} deliveries/s\n"
        f"  delivery latency: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms\n  drops: {expected - len(latencies)}",
        flush=True,
    )
    for s in [*receivers, *senders]:
        await s.close()


def main() -> int:
    args = parse_args()
    provider = LoopbackServer().start()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as directory:
        cluster = start_cluster(
            Path(directory),
            replicas=3,
            settings="config.settings.prod",
            database="docent_cluster_bench",
            env={"PROVIDER_ALLOW_PRIVATE_NETWORKS": "true", "API_KEY_RATE_LIMIT_PER_MINUTE": "0"},
        )
        try:
            data = cluster.seed("--provider-url", provider.openai_base_url, "--documents", str(args.handbooks))
            headers = {"Authorization": f"Bearer {data['key']['key']}"}

            def indexed() -> bool:
                statuses = [
                    httpx.get(f"{cluster.url}/api/v1/documents/{pk}", headers=headers, timeout=10).json()["status"]
                    for pk in data["documents"]
                ]
                return all(status == "ready" for status in statuses)

            wait_for(indexed, timeout=300, interval=1, what="the documents to be indexed")
            generator = load_generator(args, Path(directory))
            load = os.getloadavg()
            print(
                f"machine: {os.uname().machine} Linux, {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
                f"cluster ready in {time.perf_counter() - started:.0f} s; load average {load[0]:.1f}, {load[1]:.1f}, "
                f"{load[2]:.1f}\nload: {generator.version}, {args.concurrency} requests in flight, {args.seconds:g} s "
                f"per row after a 2 s warm-up, through HAProxy; {args.handbooks} documents indexed\n"
                "CPU ms/req: replica (r), PostgreSQL and Redis (d), HAProxy and the load generator (c); "
                f"bound: the most the cores allow over 1 replica, min(n, {os.cpu_count()}r/(r+d+c)) / "
                f"min(1, {os.cpu_count()}r/(r+d+c)); cores busy: these processes' CPU seconds per second",
                flush=True,
            )
            web_tier(cluster, data, args, generator)
            for rate in (float(r) for r in args.rates.split(",") if r.strip()):
                asyncio.run(fan_out(cluster, data, args, rate))
            load = os.getloadavg()
            print(f"\nload average after: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} cores")
        finally:
            cluster.stop()
            provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
