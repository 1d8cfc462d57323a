"""`make run`: the embedded default in one command.

Migrates, loads demo data, then runs the ASGI server and a Celery worker (with beat) until Ctrl-C,
and stops everything it started (including the embedded PostgreSQL when it started it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
BIN = Path(sys.executable).parent
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
# Links in emails (invitations, password resets) point at the server this command starts.
os.environ.setdefault("SITE_URL", f"http://{HOST}:{PORT}")


def uvicorn_command() -> list[str]:
    """The ASGI server: X-Forwarded-For is honoured only from TRUSTED_PROXY_IPS (by default from nobody)."""
    from config.settings.env import ip_networks

    trusted = ip_networks("TRUSTED_PROXY_IPS")
    proxy = ["--proxy-headers", "--forwarded-allow-ips", ",".join(trusted)] if trusted else ["--no-proxy-headers"]
    return [
        str(BIN / "uvicorn"),
        "config.asgi:application",
        "--host",
        HOST,
        "--port",
        PORT,
        *proxy,
        "--log-level",
        "info",
    ]


def main() -> int:
    from config.embedded import PGDATA, embedded_postgres_stop

    db_was_running = (PGDATA / "postmaster.pid").exists() and not os.environ.get("DATABASE_URL")
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "--no-input", "-v", "0"], ["seed_demo"], ["collectstatic", "--no-input", "-v", "0"]):
        result = subprocess.run([*manage, *step], cwd=ROOT, check=False)
        if result.returncode != 0:
            return result.returncode
    (ROOT / "var").mkdir(exist_ok=True)
    children = [
        subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-B",
                "-l",
                "warning",
                "-c",
                "2",
                "--schedule",
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
            cwd=ROOT,
        ),
        subprocess.Popen(uvicorn_command(), cwd=ROOT),
    ]
    print(f"\nDocent is running on http://{HOST}:{PORT}/  (Ctrl-C stops it)\n", flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if not os.environ.get("DATABASE_URL") and not db_was_running:
            embedded_postgres_stop()
        print("Docent stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
