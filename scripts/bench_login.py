"""Sign-in benchmark (`make bench-login`): Argon2 cost and the latency of login, refresh and an org-scoped read.

Runs in-process against the development database (embedded PostgreSQL unless DATABASE_URL is set);
creates a throwaway user and organization and deletes them at the end. Prints figures only.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import check_password, make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))


def timed(fn: Callable[[int], object], rounds: int = ROUNDS) -> list[float]:
    samples = []
    for i in range(rounds):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(f"{name:<44} n={len(samples):<4} p50={statistics.median(samples):7.1f} ms  p95={p95:7.1f} ms")


def main() -> None:
    setup_test_environment()  # locmem email, 'testserver' allowed
    logging.getLogger("django.request").setLevel(logging.ERROR)
    call_command("migrate", verbosity=0)
    from apps.organizations.actors import Actor
    from apps.organizations.services import organization_create
    from apps.users.models import User

    print(f"password hasher: {settings.PASSWORD_HASHERS[0].rsplit('.', 1)[-1]}")
    encoded = make_password("bench-password-0123456789")
    report("argon2 hash (make_password)", timed(lambda i: make_password("bench-password-0123456789")))
    report("argon2 verify (check_password)", timed(lambda i: check_password("bench-password-0123456789", encoded)))

    email = f"bench-{uuid.uuid4().hex[:8]}@bench.invalid"
    password = "bench-password-0123456789"
    user = User.objects.create_user(email, password)
    organization = organization_create(actor=Actor.for_user(user), name="Bench Org")
    client = Client()
    try:
        tokens: dict[str, str] = {}

        def login(i: int) -> None:
            response = client.post(
                "/api/v1/auth/login",
                {"email": email, "password": password},
                content_type="application/json",
                REMOTE_ADDR=f"10.9.{i // 250}.{i % 250}",
            )
            assert response.status_code == 200, response.content
            tokens.update(response.json())

        report("POST /api/v1/auth/login (argon2 + JWT pair)", timed(login))

        def refresh(i: int) -> None:
            response = client.post(
                "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, content_type="application/json"
            )
            assert response.status_code == 200, response.content
            tokens.update(response.json())

        report("POST /api/v1/auth/refresh (rotate+blacklist)", timed(refresh))

        def members(i: int) -> None:
            response = client.get(
                "/api/v1/members",
                HTTP_AUTHORIZATION=f"Bearer {tokens['access']}",
                HTTP_X_ORGANIZATION=organization.slug,
            )
            assert response.status_code == 200, response.content

        report("GET /api/v1/members (JWT + tenant + role)", timed(members))

        statuses = []

        def wrong_counted(i: int) -> None:
            response = client.post(
                "/api/v1/auth/login",
                {"email": email, "password": "wrong"},
                content_type="application/json",
                REMOTE_ADDR="10.8.0.2",
            )
            statuses.append(response.status_code)

        timed(wrong_counted, rounds=15)
        print(f"failed logins for one account, 15 tries: {statuses.count(401)}x401 then {statuses.count(429)}x429")
    finally:
        organization.delete()
        user.delete()


if __name__ == "__main__":
    main()
