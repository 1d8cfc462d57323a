"""`make profile-chat`: where one answer's server time goes, as a pyinstrument call tree.

Sets up the bench-chat bot (a loopback provider with no first-token delay), asks it --answers questions through
`POST /api/v1/bots/{id}/chat` in this process (Django's test client, JSON answer, the same pipeline as SSE),
and prints the profile of the measured answers, plus the statements each answer ran.

`--server`: the same as bench-chat instead: SSE answers at `--concurrency` conversations from one uvicorn worker
(scripts/profiled_uvicorn.py) profiled on every thread's CPU clock, and the thread CPU per answer of the request's
and the stream's main steps (profiled, so inflated, but comparable between runs).

Usage: scripts/profile_chat.py [--answers 200] [--cpu] [--html FILE] [--server [--concurrency 20]]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
os.environ.setdefault("PROVIDER_ALLOW_PRIVATE_NETWORKS", "true")  # the provider is a loopback server


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--html", type=Path, help="also write the interactive profile here")
    parser.add_argument("--cpu", action="store_true", help="cProfile on CPU time instead (the machine is shared)")
    parser.add_argument("--server", action="store_true", help="profile a uvicorn worker answering SSE, every thread")
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if args.server:
        return profile_server(answers=args.answers, concurrency=args.concurrency)

    # bench_chat sets Django up with Redis as the cache when one answers, as in production (and as bench-chat)
    from bench_chat import QUESTION, cpu_split, setup
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from pyinstrument import Profiler

    provider = subprocess.Popen(
        [sys.executable, "-m", "apps.chatbot_provider.tests.loopback", "--delay-ms", "0", "--reply", "25 days [1]."],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert provider.stdout is not None
        provider_url = f"http://127.0.0.1:{int(provider.stdout.readline())}/v1"
        bot_id, token, org_id = setup(provider_url)
        client = Client(HTTP_HOST="127.0.0.1")
        headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_X_ORGANIZATION": org_id}
        url = f"/api/v1/bots/{bot_id}/chat"

        def ask() -> None:
            response = client.post(url, {"message": QUESTION}, content_type="application/json", **headers)
            assert response.status_code == 200, response.content[:300]

        for _ in range(20):
            ask()
        statements: list[str] = []

        def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            statements.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            ask()
        # CPU time without a profiler first (a profiler inflates it several times over)
        plain_started, since = time.process_time(), datetime.now(UTC)
        for _ in range(args.answers):
            ask()
        plain_cpu = (time.process_time() - plain_started) * 1000 / args.answers
        sdk_cpu, retrieval_cpu = cpu_split(org_id, since)
        started = time.perf_counter()
        cpu_started = time.process_time()
        if args.cpu:
            cpu_profile = cProfile.Profile(time.process_time)
            for _ in range(args.answers):
                cpu_profile.runcall(ask)
        else:
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(args.answers):
                ask()
            profiler.stop()
        wall = (time.perf_counter() - started) * 1000 / args.answers
        cpu = (time.process_time() - cpu_started) * 1000 / args.answers
        if args.cpu:
            stats = pstats.Stats(cpu_profile)
            stats.sort_stats("cumulative").print_stats(60)
            if args.html:
                stats.dump_stats(args.html.with_suffix(".pstats"))
        else:
            print(profiler.output_text(unicode=False, color=False, show_all=False))
            if args.html:
                args.html.write_text(profiler.output_html())
        print(f"{args.answers} answers: {plain_cpu:.2f} ms CPU of this process per answer (not profiled)")
        print(
            f"  = provider's client {sdk_cpu:.2f} + retrieval {retrieval_cpu:.2f} "
            f"+ Docent {plain_cpu - sdk_cpu - retrieval_cpu:.2f} (with the test client's own work)"
        )
        print(f"{args.answers} answers: {wall:.1f} ms wall, {cpu:.1f} ms CPU of this process per answer (profiled)")
        print(f"cache: {'Redis' if settings.USE_REDIS else 'in-process'}; load average {os.getloadavg()[0]:.1f}")
        print(f"statements per answer: {len(statements)}")
        for sql in statements:
            print(f"  {' '.join(sql.split())[:150]}")
    finally:
        provider.terminate()
        provider.wait(timeout=10)
    return 0


# The steps of an answer under uvicorn: the request's thread (DRF), the stream's thread, the event loop's share.
SERVER_STEPS = (
    "asgiref/sync.py(__call__)",
    "rest_framework/views.py(dispatch)",
    "organizations/authentication.py(authenticate)",
    "services/turns.py(chat_turn_open)",
    "core/inserts.py(insert_rows)",
    "chatbot/streaming.py(stream_handover)",
    "chatbot/streaming.py(produce)",
    "services/answer.py(retrieve)",
    "clients/openai.py(open_stream)",
    "services/answer.py(_save)",
    "interrupted.py(turn_progress)",
    "common/events.py(emit)",
    "psycopg_pool/pool.py(getconn)",
    "redis/connection.py(__init__)",
    "django/core/handlers/asgi.py(send_response)",
    "chatbot/streaming.py(sse_async)",
)


def profile_server(*, answers: int, concurrency: int) -> int:
    import asyncio
    import signal
    import tempfile

    from bench_chat import QUESTION, first_token, run_level, setup, wait_ready

    provider = subprocess.Popen(
        [sys.executable, "-m", "apps.chatbot_provider.tests.loopback", "--delay-ms", "250", "--token-delay-ms", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        assert provider.stdout is not None
        provider_url = f"http://127.0.0.1:{int(provider.stdout.readline())}/v1"
        bot_id, token, org_id = setup(provider_url)
        out = Path(tempfile.mkdtemp()) / "server.pstats"
        port = int(os.environ.get("BENCH_PORT", "8765")) + 2
        env = {
            **os.environ,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "PROFILE_OUT": str(out),
            "PROFILE_PORT": str(port),
        }
        server = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "profiled_uvicorn.py")], cwd=ROOT, env=env)
        wait_ready(f"http://127.0.0.1:{port}/healthz", server)
        url = f"http://127.0.0.1:{port}/api/v1/bots/{bot_id}/chat"
        headers = {"Authorization": f"Bearer {token}", "X-Organization": org_id, "Accept": "text/event-stream"}

        def ask(client: Any) -> Any:
            return first_token(client, "POST", url, b"event: token", json={"message": QUESTION}, headers=headers)

        samples, _ = asyncio.run(run_level(concurrency, answers, ask))
        asked = len(samples) + min(3, max(1, answers // concurrency))
        server.send_signal(signal.SIGUSR1)
        server.wait(timeout=60)
        stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
        print(
            f"{asked} SSE answers at {concurrency} conversations, one uvicorn worker; load average "
            f"{os.getloadavg()[0]:.1f}; thread CPU per answer, profiled (inflated; compare runs with each other):"
        )
        for (path, line, name), (_, calls, _, cumulative, _) in sorted(stats.items(), key=lambda item: -item[1][3]):
            where = f"{path}:{line}({name})"
            if any(step in f"{path}({name})" for step in SERVER_STEPS):
                shown = where.split("site-packages/")[-1].replace(f"{ROOT}/", "")
                print(f"  {cumulative * 1000 / asked:7.2f} ms  {calls:6d} calls  {shown}")
    finally:
        for process in (server, provider):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
