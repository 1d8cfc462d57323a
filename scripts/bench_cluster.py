"""`make bench-cluster`: how Docent's web tier scales with replicas, and realtime fan-out across replicas.

Starts a `make cluster` (3 replicas behind HAProxy, 2 workers, beat, a Redis of its own, the production settings)
and seeds an organization: HANDBOOKS indexed documents, an API key without rate limit, a bot on the loopback
OpenAI-compatible provider (no delay: the CPU cost is Docent's own). Then, in one run, with 1, 2 and 3 replicas in
rotation (the others set to maintenance through HAProxy's admin socket), it drives each CPU-bound endpoint for
SECONDS with CONCURRENCY requests in flight through the balancer: search (hybrid), chat (a whole answer, JSON),
an authenticated read (GET /api/v1/bots with the key). It prints throughput, p50 and p95, and the speed-up over one
replica. Last, realtime fan-out: receiving sockets spread over the three replicas, senders on every replica; it
prints messages/s, deliveries/s, delivery latency p50/p99 and drops (a ring lost or a message never delivered),
at two sending rates. Each row also shows the CPU time one request cost the web replicas and PostgreSQL (from
/proc): unlike throughput, it does not depend on the share of the cores the machine's other work leaves.

The load generator runs on the same machine and takes its share of the cores; read the figures as ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
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
        "--rates", default="2,8", help="realtime: messages/s per sender, one run each (the per-socket limit is 10)"
    )
    return parser.parse_args()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))] if ordered else float("nan")


def haproxy(cluster: Cluster, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as admin:
        admin.connect(str(cluster.directory / "haproxy.sock"))
        admin.sendall(command.encode() + b"\n")
        return admin.recv(65536).decode()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _postgres_pids() -> list[int]:
    """The embedded PostgreSQL's server processes (the postmaster's children: backends, writers)."""
    from config.embedded import PGDATA

    try:
        postmaster = int((PGDATA / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return children


class CpuMeter:
    """CPU seconds used by the web replicas and by PostgreSQL between start() and stop(): what one request costs
    each tier (and the balancer with the load generator), whatever share of the cores the machine's other work
    left us."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def _sample(self) -> tuple[float, float, float]:
        state = self.cluster.state()
        web = sum(_cpu_seconds(entry["pid"]) for entry in state["replicas"] if entry["pid"])
        balancer = sum(_cpu_seconds(e["pid"]) for e in state["processes"] if e["name"] == "haproxy" and e["pid"])
        client = sum(os.times()[:2])  # this process: the load generator
        return web, sum(_cpu_seconds(pid) for pid in _postgres_pids()), balancer + client

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> tuple[float, float, float]:
        after = self._sample()
        web, db, rest = (a - b for a, b in zip(after, self.before, strict=True))
        return web, db, rest


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


def web_tier(cluster: Cluster, data: dict[str, Any], args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {data['key']['key']}"}
    endpoints = {
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
    print(
        f"\n{'endpoint':32} {'replicas':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'x 1 rep':>8} {'errors':>6} "
        f"{'CPU ms/req: web':>15} {'db':>5} {'lb+client':>9}"
    )
    meter = CpuMeter(cluster)
    for name, request in endpoints.items():
        baseline = None
        for replicas in range(1, len(cluster.replica_ports) + 1):
            rotate(cluster, replicas)
            asyncio.run(drive(cluster.url, request, 2.0, args.concurrency))  # warm-up
            meter.start()
            latencies, errors = asyncio.run(drive(cluster.url, request, args.seconds, args.concurrency))
            web_cpu, db_cpu, rest_cpu = meter.stop()
            throughput = len(latencies) / args.seconds
            baseline = baseline or throughput
            served = max(len(latencies), 1)
            print(
                f"{name:32} {replicas:>8} {throughput:>7.1f} {percentile(latencies, 50) * 1000:>7.1f} "
                f"{percentile(latencies, 95) * 1000:>7.1f} {throughput / baseline:>7.2f}x {errors:>6} "
                f"{web_cpu / served * 1000:>15.1f} {db_cpu / served * 1000:>5.1f} {rest_cpu / served * 1000:>9.1f}",
                flush=True,
            )
    rotate(cluster, len(cluster.replica_ports))


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
            load = os.getloadavg()
            print(
                f"machine: {os.uname().machine} Linux, {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
                f"cluster ready in {time.perf_counter() - started:.0f} s; load average {load[0]:.1f}, {load[1]:.1f}, "
                f"{load[2]:.1f}\nload: {args.concurrency} requests in flight, {args.seconds:g} s per row after a "
                f"2 s warm-up, through HAProxy; {args.handbooks} documents indexed",
                flush=True,
            )
            web_tier(cluster, data, args)
            for rate in (float(r) for r in args.rates.split(",")):
                asyncio.run(fan_out(cluster, data, args, rate))
            load = os.getloadavg()
            print(f"\nload average after: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} cores")
        finally:
            cluster.stop()
            provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
