"""`make cluster`: Docent scaled out on one machine, every process on loopback, under the production settings.

HAProxy (Debian's package) balances N uvicorn replicas (default 3); 2 Celery workers and one beat; Redis as
broker, cache and channel layer (the one on 127.0.0.1:6379 when it answers, database 15; otherwise, or with
--private-redis, a redis-server of our own with an append-only file); one PostgreSQL with pgvector (the
embedded one under var/, database `docent_cluster`, unless DATABASE_URL is set). Secrets come from an env file
generated once under the cluster's directory (var/cluster/secrets.env, mode 0600); cluster.env next to it holds
every variable the processes get, for `manage.py` against the cluster (`set -a; . var/cluster/cluster.env`).

Every child is supervised as `make run` supervises its three (scripts/run.py): one that exits is restarted with
backoff while the others keep serving. The cluster's directory holds haproxy.cfg, the logs of HAProxy and Redis,
and state.json (the balancer's URL, each process's pid, ready or not), which the cluster tests and
`make bench-cluster` read. Ctrl-C stops everything this command started. See docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from run import CELERY, ROOT, Child, StopRequested, beat_command, log, stop_all, uvicorn_command

STANDARD_REDIS = "redis://127.0.0.1:6379"
CLUSTER_REDIS_DB = 15  # on a shared Redis, away from development (0) and the test processes (1-14)
CLUSTER_DATABASE = "docent_cluster"
READY_TIMEOUT = 180.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "3")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")))
    parser.add_argument("--worker-concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT", "8080")))
    parser.add_argument("--first-replica-port", type=int, default=8101, help="replica i listens on this + i - 1")
    parser.add_argument("--private-redis", action="store_true", help="always start a redis-server of our own")
    parser.add_argument("--redis-port", type=int, default=6391, help="the port of our own redis-server")
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "cluster", help="config, logs, state")
    parser.add_argument("--database", default=CLUSTER_DATABASE, help="the embedded PostgreSQL's database to use")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo organization")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="a setting for every process (repeatable)"
    )
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------------------ tools


def require_binary(binary: str, package: str) -> str:
    """The binary, installed from Debian's package when missing and we are root; otherwise say how, and stop."""
    from config.embedded import ensure_binary

    found = ensure_binary(binary, package)
    if found is None:
        sys.exit(f"{binary} is needed: install it with `sudo apt-get install -y {package}`, then run this again.")
    return found


def require_free_ports(ports: list[int]) -> None:
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                sys.exit(f"Port {port} is in use: choose others with --port and --first-replica-port.")


# ---------------------------------------------------------------------------------------- configuration


def write_private(path: Path, text: str) -> None:
    """A file only its owner reads (secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def secrets_file(directory: Path) -> dict[str, str]:
    """The deployment's secrets, generated on first use and kept (a second run signs nobody out)."""
    path = directory / "secrets.env"
    if not path.exists():
        from cryptography.fernet import Fernet

        values = {
            "SECRET_KEY": secrets.token_urlsafe(64),
            "JWT_SIGNING_KEY": secrets.token_urlsafe(64),
            "TOKEN_HASH_PEPPER": secrets.token_urlsafe(48),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DEMO_ADMIN_PASSWORD": secrets.token_urlsafe(12),
        }
        lines = [f"{name}={value}\n" for name, value in values.items()]
        write_private(
            path, "# Generated by `make cluster`; delete the file to generate new secrets.\n" + "".join(lines)
        )
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def database_url(name: str) -> tuple[str, bool]:
    """DATABASE_URL when set; otherwise the embedded PostgreSQL's cluster database. Also: whether the embedded
    server was already running (then it is left running at the end)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], True
    from config.embedded import PGDATA, embedded_postgres_database

    was_running = (PGDATA / "postmaster.pid").exists()
    db = embedded_postgres_database(name)
    return f"postgres://{db['USER']}@{quote(db['HOST'], safe='')}:{db['PORT']}/{db['NAME']}", was_running


def cluster_env(args: argparse.Namespace, redis_url: str, db_url: str) -> dict[str, str]:
    """The production settings' variables for every process: defaults < generated secrets < --env."""
    site = f"http://127.0.0.1:{args.port}"
    values = {
        "DJANGO_SETTINGS_MODULE": os.environ.get("CLUSTER_SETTINGS", "config.settings.prod"),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": f"{site},http://localhost:{args.port}",
        "SITE_URL": site,
        "TRUSTED_PROXY_IPS": "127.0.0.1",  # the balancer: X-Forwarded-For names the client
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(args.dir / "media"),  # one disk shared by every process here; STORAGE_BUCKET elsewhere
        # Plain HTTP on loopback: no TLS to redirect to, no HSTS to pin
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
        # (web replicas + worker processes + beat) x pool stays under the embedded server's 100 connections
        "DB_POOL_MAX_SIZE": "8",
    }
    values.update(secrets_file(args.dir))
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"--env takes NAME=VALUE, not {item!r}")
        values[name] = value
    return values


def haproxy_config(args: argparse.Namespace) -> str:
    """Round robin over the replicas, health-checked every second. Idempotent requests (GET, HEAD, OPTIONS)
    whose replica died under them are retried on another one; others only when the connection never opened.
    Responses stream through unbuffered (SSE), and WebSocket upgrades become tunnels."""
    servers = "\n".join(
        f"    server web-{i} 127.0.0.1:{args.first_replica_port + i - 1} check" for i in range(1, args.replicas + 1)
    )
    return f"""# Generated by scripts/cluster.py
global
    maxconn 4096
    stats socket {args.dir}/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout tunnel 1h
    timeout http-keep-alive 10s
    timeout queue 10s
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response junk-response response-timeout 503

frontend docent
    bind 127.0.0.1:{args.port}
    option forwardfor
    http-request disable-l7-retry unless {{ method GET HEAD OPTIONS }}
    http-response set-header X-Docent-Replica %s
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
{servers}
"""


# ------------------------------------------------------------------------------------------- processes

# Each replica's uvicorn options (deploy/kubernetes/docent.yaml has the same; a test compares them). Stopped
# (deploy, scale-down): open streams get 10 s, then they are cut and saved as interrupted.
REPLICA_ARGS = ("--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "10")


def worker_args(concurrency: int = 1) -> list[str]:
    """A Celery worker's command after `celery -A config`: one pool process by default."""
    return ["worker", "-l", "warning", "-c", str(concurrency)]


def build_children(args: argparse.Namespace, redis_binary: str | None, haproxy: str) -> list[Child]:
    running: list[Child] = []
    if redis_binary is not None:
        data = args.dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        # An append-only file: a restarted Redis still has the queued tasks and the channel groups
        running.append(
            Child(
                "redis",
                [
                    redis_binary,
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(args.redis_port),
                    "--dir",
                    str(data),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--save",
                    "",
                    "--logfile",
                    str(data / "redis.log"),
                ],
            )
        )
    for i in range(1, args.replicas + 1):
        port = str(args.first_replica_port + i - 1)
        running.append(Child(f"web-{i}", uvicorn_command("127.0.0.1", port, *REPLICA_ARGS)))
    for i in range(1, args.workers + 1):
        command = [*CELERY, "--quiet", *worker_args(args.worker_concurrency), "-n", f"worker-{i}@%h"]
        running.append(Child(f"worker-{i}", command))
    running.append(Child("beat", beat_command(args.dir)))
    running.append(Child("haproxy", [haproxy, "-db", "-f", str(args.dir / "haproxy.cfg")]))
    return running


def answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URLs we built)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def cluster_ready(args: argparse.Namespace, url: str) -> bool:
    """The balancer and every replica answer /readyz (database, migrations, Redis)."""
    replicas = [f"http://127.0.0.1:{args.first_replica_port + i}" for i in range(args.replicas)]
    return all(answers(f"{base}/readyz") for base in [url, *replicas])


def announce(args: argparse.Namespace, url: str, redis_url: str) -> None:
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[-1]
    lines = [
        f"Docent cluster on {url}/  ({args.replicas} replicas behind HAProxy, {args.workers} workers, beat, "
        f"Redis {redis_url}, PostgreSQL {database})",
    ]
    if not args.no_demo:
        lines.append(f"  demo sign-in: admin@demo.docent.local / {os.environ['DEMO_ADMIN_PASSWORD']}")
    lines.append(f"  state: {args.dir / 'state.json'}   (Ctrl-C stops it)")
    print("\n" + "\n".join(lines) + "\n", flush=True)


def write_state(args: argparse.Namespace, running: list[Child], *, url: str, redis_url: str, ready: bool) -> None:
    def entry(child: Child) -> dict[str, Any]:
        pid = child.process.pid if child.process is not None and child.process.poll() is None else None
        return {"name": child.name, "pid": pid, "restarts": child.restarts}

    state = {
        "url": url,
        "ready": ready,
        "redis_url": redis_url,
        "private_redis": any(child.name == "redis" for child in running),
        "replicas": [
            {**entry(child), "port": args.first_replica_port + i}
            for i, child in enumerate(c for c in running if c.name.startswith("web-"))
        ],
        "workers": [entry(child) for child in running if child.name.startswith("worker-")],
        "processes": [entry(child) for child in running],
    }
    path = args.dir / "state.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state, indent=2))
    partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.dir = args.dir.resolve()
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "state.json").unlink(missing_ok=True)
    require_free_ports([args.port, *range(args.first_replica_port, args.first_replica_port + args.replicas)])
    haproxy = require_binary("haproxy", "haproxy")

    from config.embedded import embedded_postgres_stop, redis_answers

    redis_binary: str | None = None
    if not args.private_redis and os.environ.get("REDIS_URL") and redis_answers(os.environ["REDIS_URL"]):
        redis_url = os.environ["REDIS_URL"]
    elif not args.private_redis and redis_answers(STANDARD_REDIS):
        redis_url = f"{STANDARD_REDIS}/{CLUSTER_REDIS_DB}"
    else:
        require_free_ports([args.redis_port])
        redis_binary = require_binary("redis-server", "redis-server")
        redis_url = f"redis://127.0.0.1:{args.redis_port}/0"
    db_url, db_was_running = database_url(args.database)
    settings = cluster_env(args, redis_url, db_url)
    os.environ.update(settings)
    write_private(args.dir / "cluster.env", "".join(f"{name}={value}\n" for name, value in settings.items()))
    (args.dir / "haproxy.cfg").write_text(haproxy_config(args))
    url = f"http://127.0.0.1:{args.port}"

    stopping = StopRequested()
    running = build_children(args, redis_binary, haproxy)
    started: list[Child] = []
    try:
        if redis_binary is not None:  # the setup steps below need it
            running[0].start()
            started.append(running[0])
            while not redis_answers(redis_url) and not stopping:
                time.sleep(0.1)
        manage = [sys.executable, str(ROOT / "manage.py")]
        steps = [["migrate", "--no-input", "-v", "0"], ["collectstatic", "--no-input", "-v", "0"]]
        if not args.no_demo:
            steps.append(["seed_demo", "--reset-password"])  # the password printed below is the one that works
        for step in steps:
            if stopping or subprocess.run([*manage, *step], cwd=ROOT, check=False).returncode != 0:
                return 1
        for child in running[len(started) :]:
            child.start()
            started.append(child)
        write_state(args, running, url=url, redis_url=redis_url, ready=False)
        deadline = time.monotonic() + READY_TIMEOUT
        ready = False
        while not stopping:
            now = time.monotonic()
            pids = [child.process.pid if child.process else None for child in running]
            for child in running:
                child.check(now)
            if not ready and cluster_ready(args, url):
                ready = True
                write_state(args, running, url=url, redis_url=redis_url, ready=True)
                announce(args, url, redis_url)
            elif not ready and now > deadline:
                log(f"the cluster did not become ready in {READY_TIMEOUT:g} s; stopping")
                return 1
            if ready and pids != [child.process.pid if child.process else None for child in running]:
                write_state(args, running, url=url, redis_url=redis_url, ready=True)
            time.sleep(0.3)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not interrupt the clean-up
        # The balancer first (no new requests), then the web and the workers, Redis last
        order = [c for c in started if c.name == "haproxy"] + [c for c in started if c.name not in {"haproxy", "redis"}]
        stop_all(order)
        stop_all([c for c in started if c.name == "redis"])
        (args.dir / "state.json").unlink(missing_ok=True)
        if not db_was_running:
            embedded_postgres_stop()
        print("Docent cluster stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
