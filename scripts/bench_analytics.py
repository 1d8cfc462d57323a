"""`make bench-analytics`: the time of each analytics chart query and of the inbox on a large organization.

Builds, in a dedicated database, an organization with 100,000 messages (25,000 conversations of two turns
over 90 days, 4 bots, 3 sources, answers complete / "don't know" / failed, latencies, tokens, feedback on
one answer in ten) next to a second organization of 20,000 messages, with set-based INSERT ... SELECT
statements (the database numbers the messages through its trigger as usual). Then times every figure of
the analytics page (apps.analytics.selectors.CHARTS and the summary) over the last 30 and 90 days, and the
inbox's first page unfiltered, filtered and searched: the median of RUNS runs after one warm-up.
Usage: scripts/bench_analytics.py [--messages 100000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
BENCH_DB = "docent_bench_analytics"
TARGET_MS = 200.0

KNOWN = [
    "How many vacation days do employees get?",
    "When does the office open?",
    "Who approves sick leave?",
    "How do I submit an expense report?",
    "What is the parental leave policy?",
    "How do I book a meeting room?",
    "What is the remote work policy?",
    "How are overtime hours paid?",
    "Where do I find my payslip?",
    "How do I request new equipment?",
]
MISSING = [
    "How do I reset my VPN password?",
    "reset vpn password how",
    "Is there a gym discount for staff?",
    "Can I bring my dog to the office?",
    "How do I get a parking permit?",
    "What is the bicycle lease scheme?",
    "Who is the fire warden on floor 3?",
    "How do I reset my vpn passwords?",
]


def _prepare_database() -> dict:
    import psycopg

    if os.environ.get("DATABASE_URL"):
        import environ

        base = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    else:
        from config.embedded import embedded_postgres_database

        base = embedded_postgres_database()
    conninfo = dict(host=base["HOST"], port=base["PORT"], user=base["USER"], password=base.get("PASSWORD") or None)
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    password = f":{quote(base['PASSWORD'])}" if base.get("PASSWORD") else ""
    os.environ["DATABASE_URL"] = (
        f"postgres://{base['USER']}{password}@{quote(str(base['HOST']), safe='')}:{base['PORT']}/{BENCH_DB}"
    )
    return conninfo


def _drop_database(conninfo: dict) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _build(name: str, messages: int):  # type: ignore[no-untyped-def]
    """An organization with `messages` messages (two turns per conversation) and its bots; returns it."""
    from django.db import connection

    from apps.chatbot.models import Chatbot
    from apps.organizations.models import Organization

    organization = Organization.objects.create(name=name, slug=name.lower().replace(" ", "-"))
    bots = [
        Chatbot.objects.create(organization=organization, name=f"Bot {i}", publishable_key=f"pk_{name}_{i}")
        for i in range(4)
    ]
    conversations = messages // 4
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH c AS (
                SELECT i, now() - random() * interval '90 days' AS t FROM generate_series(1, %(n)s) AS i
            )
            INSERT INTO chatbot_conversation
                (id, organization_id, created_at, updated_at, kind, bot_id, visitor_id, title, source, last_seq)
            SELECT gen_random_uuid(), %(org)s, t, t, 'bot', (%(bots)s::uuid[])[1 + i %% 4], '', 'bench',
                   (ARRAY['api', 'web', 'widget'])[1 + i %% 3], 0
              FROM c
            """,
            {"n": conversations, "org": organization.pk, "bots": [b.pk for b in bots]},
        )
        cursor.execute(
            """
            WITH turn AS (
                SELECT c.id AS conversation_id, c.bot_id, c.created_at + k * interval '1 minute' AS t, k,
                       random() AS outcome, random() AS pick, random() AS speed
                  FROM chatbot_conversation c, generate_series(0, 1) AS k
                 WHERE c.organization_id = %(org)s
            ), row AS (
                SELECT turn.*, part,
                       CASE WHEN outcome < 0.8 THEN 'complete' WHEN outcome < 0.95 THEN 'dont_know' ELSE 'failed' END
                           AS status
                  FROM turn CROSS JOIN (VALUES (0), (1)) AS p(part)
            )
            INSERT INTO chatbot_message
                (id, organization_id, created_at, updated_at, conversation_id, role, sender_kind, sender_bot_id,
                 sender_visitor_id, content, status, citations, provider_name, model, prompt_tokens,
                 completion_tokens, retrieval_ms, ttft_ms, total_ms, error_code, error_message)
            SELECT gen_random_uuid(), %(org)s, t + part * interval '2 seconds', t + part * interval '2 seconds',
                   conversation_id,
                   CASE part WHEN 0 THEN 'user' ELSE 'assistant' END,
                   CASE part WHEN 0 THEN 'api_key' ELSE 'bot' END,
                   CASE part WHEN 1 THEN bot_id END,
                   '',
                   CASE WHEN part = 1 THEN 'An answer from the handbook [1].'
                        WHEN status = 'dont_know' THEN (%(missing)s::text[])[1 + floor(pick * %(n_missing)s)::int]
                        ELSE (%(known)s::text[])[1 + floor(pick * %(n_known)s)::int] END,
                   CASE part WHEN 0 THEN 'complete' ELSE status END,
                   '[]'::jsonb,
                   CASE WHEN part = 1 THEN (ARRAY['OpenAI', 'Gemini', 'Offline'])[1 + floor(pick * 3)::int] ELSE '' END,
                   CASE WHEN part = 1 THEN 'model-a' ELSE '' END,
                   CASE part WHEN 1 THEN 300 + floor(pick * 900)::int ELSE 0 END,
                   CASE part WHEN 1 THEN 20 + floor(speed * 200)::int ELSE 0 END,
                   CASE part WHEN 1 THEN 20 + floor(speed * 60)::int END,
                   CASE part WHEN 1 THEN 150 + floor(exp(speed * 3) * 60)::int END,
                   CASE part WHEN 1 THEN 900 + floor(exp(speed * 3) * 300)::int END,
                   CASE WHEN part = 1 AND status = 'failed' THEN 'provider_error' ELSE '' END,
                   ''
              FROM row
             ORDER BY conversation_id, k, part
            """,
            {
                "org": organization.pk,
                "known": KNOWN,
                "missing": MISSING,
                "n_known": len(KNOWN),
                "n_missing": len(MISSING),
            },
        )
        cursor.execute(
            """
            INSERT INTO chatbot_feedback (id, organization_id, created_at, updated_at, message_id, rating, comment)
            SELECT gen_random_uuid(), organization_id, created_at + interval '10 seconds',
                   created_at + interval '10 seconds', id,
                   CASE WHEN status = 'complete' AND random() < 0.85 THEN 'up' ELSE 'down' END, ''
              FROM chatbot_message
             WHERE organization_id = %(org)s AND role = 'assistant' AND random() < 0.1
            """,
            {"org": organization.pk},
        )
    return organization


def _median_ms(run, runs: int) -> float:  # type: ignore[no-untyped-def]
    run()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the bench database (to EXPLAIN a query)")
    args = parser.parse_args()
    started = time.perf_counter()
    conninfo = _prepare_database()
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection, connections

        from apps.analytics import selectors
        from apps.chatbot.models import Chatbot, Message
        from apps.chatbot.selectors import InboxFilters, conversation_inbox

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        print(
            f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, PostgreSQL {pg_version}"
        )
        building = time.perf_counter()
        organization = _build("Bench big", args.messages)
        _build("Bench other", args.messages // 5)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        count = Message.objects.for_org(organization).count()
        print(
            f"built {count:,} messages (+{args.messages // 5:,} in another organization) "
            f"in {time.perf_counter() - building:.1f} s\n"
        )

        today = datetime.now(UTC).date()
        failures = []
        print(f"{'query':<34}{'30 days':>10}{'90 days':>10}   (median of {args.runs}, ms)")
        figures = {**selectors.CHARTS, "summary": selectors.summary}
        for name, read in figures.items():
            row = []
            for days in (30, 90):
                window = selectors.window_make(start=today - timedelta(days=days - 1), end=today)
                row.append(_median_ms(lambda: read(organization=organization, window=window), args.runs))  # noqa: B023
            failures += [name] if max(row) > TARGET_MS else []
            print(f"analytics {name:<24}{row[0]:>10.1f}{row[1]:>10.1f}")

        def inbox_page(**filters):  # type: ignore[no-untyped-def]
            def run() -> None:
                rows = conversation_inbox(organization=organization, filters=InboxFilters(**filters))
                rows.count()
                list(rows[:50])

            return run

        inbox = {
            "inbox, first page": {},
            "inbox, don't know": {"outcome": "dont_know"},
            "inbox, thumbs down": {"feedback": "down"},
            "inbox, one bot, last 7 days": {
                "bot_id": Chatbot.objects.for_org(organization).order_by("name").first().pk,  # type: ignore[union-attr]
                "start": today - timedelta(days=6),
            },
            "inbox, search 'parking permit'": {"q": "parking permit"},
            "inbox, search 'vacation'": {"q": "vacation"},
        }
        for label, filters in inbox.items():
            took = _median_ms(inbox_page(**filters), args.runs)
            failures += [label] if took > TARGET_MS else []
            print(f"{label:<34}{took:>10.1f}")
        connections.close_all()
    finally:
        if not args.keep:
            _drop_database(conninfo)
    print(f"\ntarget {TARGET_MS:.0f} ms per query: " + ("all met" if not failures else f"over: {', '.join(failures)}"))
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
