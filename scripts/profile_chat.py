"""`make profile-chat`: where one answer's server time goes, as a pyinstrument call tree.

Sets up the bench-chat bot (a loopback provider with no first-token delay), asks it --answers questions through
`POST /api/v1/bots/{id}/chat` in this process (Django's test client, JSON answer, the same pipeline as SSE),
and prints the profile of the measured answers, plus the statements each answer ran.

Usage: scripts/profile_chat.py [--answers 200] [--cpu] [--html FILE]
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
    args = parser.parse_args()

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


if __name__ == "__main__":
    sys.exit(main())
