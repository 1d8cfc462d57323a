"""Starting and driving a `make cluster` for the tests and the bench: scripts/cluster.py as a child process, its
state file (URL, pids), its environment (for the seed script and Celery commands), faults (kill, restart)."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOOLS = {"haproxy": "haproxy", "redis-server": "redis-server"}


def tools_missing() -> str | None:
    """Why the cluster cannot start here (a tool is missing and cannot be installed), or None."""
    from config.embedded import ensure_binary

    missing = [package for binary, package in TOOLS.items() if ensure_binary(binary, package) is None]
    if missing:
        return f"the cluster needs {', '.join(missing)}: sudo apt-get install -y {' '.join(missing)}"
    return None


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        if first + count < 65000 and all(_port_free(first + i) for i in range(count)):
            return first
    raise RuntimeError("no free ports")


def wait_for(check: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def _stop_with_parent() -> None:
    """In the cluster's process, before exec: SIGTERM (a clean stop of everything) when the test process dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Cluster:
    process: subprocess.Popen[bytes]
    directory: Path
    url: str
    replica_ports: list[int]
    log: Path

    @property
    def replica_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.replica_ports]

    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.directory / "state.json").read_text()))

    def env(self) -> dict[str, str]:
        values = {}
        for line in (self.directory / "cluster.env").read_text().splitlines():
            name, _, value = line.partition("=")
            values[name] = value
        return values

    def pid(self, name: str) -> int:
        entry = next(p for p in self.state()["processes"] if p["name"] == name)
        assert entry["pid"], f"{name} is not running"
        return int(entry["pid"])

    def kill(self, name: str, signum: int = signal.SIGKILL) -> int:
        """Signal a process and everything it started (its pool, its threads); returns the pid it had."""
        pid = self.pid(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum)  # each child of the supervisor leads its own process group
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> int:
        def restarted() -> int | None:
            entry = next(p for p in self.state()["processes"] if p["name"] == name)
            return entry["pid"] if entry["pid"] and entry["pid"] != old_pid else None

        return int(wait_for(restarted, timeout=timeout, what=f"{name} to be restarted"))

    def wait_replica_ready(self, index: int, timeout: float = 60) -> None:
        def ready() -> bool:
            try:
                return httpx.get(f"{self.replica_urls[index]}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=timeout, what=f"replica {index + 1} to answer /readyz")

    def manage_env(self) -> dict[str, str]:
        return {**os.environ, **self.env(), "PYTHONPATH": str(ROOT)}

    def seed(self, *args: str) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-m", "tests.cluster.seed", *args],
            cwd=ROOT,
            env=self.manage_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    def stop(self, timeout: float = 60) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_cluster(
    directory: Path,
    *,
    replicas: int = 2,
    workers: int = 2,
    private_redis: bool = True,
    database: str = "docent_cluster_test",
    env: dict[str, str] | None = None,
    settings: str = "config.settings.cluster_test",
    timeout: float = 300,
) -> Cluster:
    """Start scripts/cluster.py on free ports and wait until it says it is ready."""
    directory.mkdir(parents=True, exist_ok=True)
    port, first_replica = free_ports(1), free_ports(replicas)
    command = [
        sys.executable,
        str(ROOT / "scripts" / "cluster.py"),
        "--replicas",
        str(replicas),
        "--workers",
        str(workers),
        "--port",
        str(port),
        "--first-replica-port",
        str(first_replica),
        "--dir",
        str(directory),
        "--database",
        database,
        "--no-demo",
    ]
    if private_redis:
        command += ["--private-redis", "--redis-port", str(free_ports(1))]
    for name, value in (env or {}).items():
        command += ["--env", f"{name}={value}"]
    log = directory / "cluster.log"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    child_env["CLUSTER_SETTINGS"] = settings
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_with_parent,
        )
    cluster = Cluster(process, directory, f"http://127.0.0.1:{port}", [first_replica + i for i in range(replicas)], log)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the cluster exited with {process.returncode}:\n{cluster.log_tail()}")
        path = directory / "state.json"
        return path.exists() and bool(json.loads(path.read_text() or "{}").get("ready"))

    try:
        wait_for(ready, timeout=timeout, interval=0.5, what="the cluster to be ready")
    except AssertionError as error:
        cluster.stop()
        raise AssertionError(f"{error}; its log ends with:\n{cluster.log_tail()}") from None
    except BaseException:
        cluster.stop()
        raise
    return cluster
