"""`make run`: the embedded default in one command.

Migrates, loads demo data, then supervises the ASGI server, a Celery worker and Celery beat until Ctrl-C:
a child that exits is restarted with exponential backoff (1 s, doubling, at most 30 s; back to 1 s after a
minute of running) while the others keep serving. Each child runs in its own process group, which is killed
as a whole when the child exits (no orphaned pool process or scheduler) and when this command stops; a child
also gets SIGTERM if this process dies. Beat is its own process, started only here, and its pidfile refuses
a second one on the same var/: one scheduler. Ctrl-C stops everything it started, including the embedded
PostgreSQL when it started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
BIN = Path(sys.executable).parent
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
# Links in emails (invitations, password resets) point at the server this command starts.
os.environ.setdefault("SITE_URL", f"http://{HOST}:{PORT}")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # a child that ran this long before exiting starts again from the first delay
STOP_GRACE = 15.0
PR_SET_PDEATHSIG = 1


def log(message: str) -> None:
    print(f"[run {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: get SIGTERM when this supervisor dies (Linux), even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux: Ctrl-C and SIGTERM still stop the children
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(1)


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restarts: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        parent = os.getpid()
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            start_new_session=True,  # its own process group: killed as a whole, and Ctrl-C comes through us
            preexec_fn=lambda: _die_with_parent(parent),
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def terminate(self) -> None:
        """Ask the child itself to stop (a Celery worker then stops its own pool after the current tasks)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def check(self, now: float) -> None:
        """Notice an exit, clean up its group, schedule the restart; start it when its delay is over."""
        if self.process is not None and self.restart_at is None:
            returncode = self.process.poll()
            if returncode is None:
                return
            self.signal_group(signal.SIGKILL)  # whatever it left behind (pool processes) goes with it
            ran = now - self.started_at
            self.failures = 1 if ran >= STABLE_AFTER else self.failures + 1
            delay = min(BACKOFF_FIRST * 2 ** (self.failures - 1), BACKOFF_MAX)
            self.restart_at = now + delay
            log(
                f"{self.name} (pid {self.process.pid}) {_describe(returncode)} after {ran:.1f} s; "
                f"restarting it in {delay:g} s (restart {self.restarts + 1})"
            )
        if self.restart_at is not None and now >= self.restart_at:
            self.restarts += 1
            self.start()
            assert self.process is not None
            log(f"{self.name} restarted (pid {self.process.pid}, restart {self.restarts})")


# WebSocket frames go out uncompressed: per-message deflate kept about 40 KB of zlib state per socket and compressed
# every frame for every socket of a room (ADR 0130). The Dockerfile, docker-compose.yml and the Kubernetes manifest
# pass the same (tests compare them).
WEBSOCKET_ARGS = ("--ws-per-message-deflate", "false")


def uvicorn_command(host: str = HOST, port: str = PORT, *extra: str) -> list[str]:
    """The ASGI server: X-Forwarded-For is honoured only from TRUSTED_PROXY_IPS (by default from nobody); WebSocket
    frames uncompressed (WEBSOCKET_ARGS)."""
    from config.settings.env import ip_networks

    trusted = ip_networks("TRUSTED_PROXY_IPS")
    proxy = ["--proxy-headers", "--forwarded-allow-ips", ",".join(trusted)] if trusted else ["--no-proxy-headers"]
    return [
        str(BIN / "uvicorn"),
        "config.asgi:application",
        "--host",
        host,
        "--port",
        port,
        *proxy,
        *WEBSOCKET_ARGS,
        *extra,
    ]


CELERY = [str(BIN / "celery"), "-A", "config"]


def beat_command(directory: Path) -> list[str]:
    """Celery beat with its schedule and pidfile in `directory`: the pidfile refuses a second beat there."""
    schedule, pidfile = str(directory / "celerybeat-schedule"), str(directory / "celerybeat.pid")
    return [*CELERY, "beat", "-l", "warning", "--schedule", schedule, "--pidfile", pidfile]


def children() -> list[Child]:
    return [
        Child("web", uvicorn_command(HOST, PORT, "--log-level", "info")),
        Child("worker", [*CELERY, "worker", "-l", "warning", "-c", "2"]),
        Child("beat", beat_command(ROOT / "var")),
    ]


class StopRequested:
    """True once Ctrl-C, SIGTERM or SIGHUP came: the supervision loop ends and everything started is stopped."""

    def __init__(self) -> None:
        self.requested = False
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.request)

    def request(self, *_: object) -> None:
        self.requested = True

    def __bool__(self) -> bool:
        return self.requested


def stop_all(running: list[Child]) -> None:
    for child in running:
        child.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for child in running:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            log(f"{child.name} did not stop in {STOP_GRACE:g} s; killing it")
        child.signal_group(signal.SIGKILL)
        child.process.wait()


def main() -> int:
    from config.embedded import PGDATA, embedded_postgres_stop

    db_was_running = (PGDATA / "postmaster.pid").exists() and not os.environ.get("DATABASE_URL")
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "--no-input", "-v", "0"], ["seed_demo"], ["collectstatic", "--no-input", "-v", "0"]):
        result = subprocess.run([*manage, *step], cwd=ROOT, check=False)
        if result.returncode != 0:
            return result.returncode
    (ROOT / "var").mkdir(exist_ok=True)
    stopping = StopRequested()
    running = children()
    try:
        for child in running:
            child.start()
            assert child.process is not None
            log(f"{child.name} started (pid {child.process.pid})")
        print(f"\nDocent is running on http://{HOST}:{PORT}/  (Ctrl-C stops it)\n", flush=True)
        while not stopping:
            now = time.monotonic()
            for child in running:
                child.check(now)
            time.sleep(0.3)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not interrupt the clean-up
        stop_all(running)
        if not os.environ.get("DATABASE_URL") and not db_was_running:
            embedded_postgres_stop()
        print("Docent stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
