"""`make bench-auth`: the per-request cost of API-key authentication with a warm cache.

Times, through Django's test client in one process (embedded PostgreSQL, dev settings), with the full
middleware stack:
  healthz        GET /healthz: no authentication, plain Django view (the floor)
  same view      one DRF view that does nothing and accepts both: anonymous (no header), then with an API key;
                 the difference is what API-key authentication + rate limiting add (the target: <= 100 us)
  floor          the same view, anonymous, making one bare EVALSHA round trip to the same Redis (a script that
                 returns 1): what one round trip adds to a request on this machine, the least a key can cost
                 while its limit is counted in Redis; and the same round trip back to back, outside a request
  same view, ASGI  the same two requests through the ASGI handler config.asgi serves (the production server's path
                 without its socket), the same with a new thread per request, Django's stock ASGIHandler (what it
                 replaced, ADR 0116), and the stock handler with an all-async chain; with the thread hops each
                 makes per request (sync_to_async / async_to_sync calls)
  no-op, anon    a DRF view that does nothing, no authentication
  no-op, key     an organization-scoped DRF view that does nothing, with an API key (needs a scope)
  no-op, JWT     the same view with a member's JWT
  auth alone     APIKeyAuthentication.authenticate() on a prepared request
  usage, key     GET /api/v1/usage with an API key (a real endpoint, for scale)
and prints medians in microseconds and the ratios. Uses Redis when one answers (as in production),
otherwise the local-cache fallback; the line "backend" says which.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

from request_timing import asgi_get, bench_redis_url, median_us, median_us_async, thread_hops  # noqa: E402

N = int(os.environ.get("BENCH_N", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
WARMUP = 100
FLOOR_SCRIPT = "return 1"


def _median_us(fn: Any) -> float:
    return median_us(fn, n=N, warmup=WARMUP)


# Docent's and WhiteNoise's middleware, which can only run synchronously: without them Django's stock handler builds
# an all-async chain, what making them async-capable would at best give.
SYNC_ONLY_MIDDLEWARE = {
    "common.core.middleware.RequestIdMiddleware",
    "common.security.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.core.middleware.StoreUnavailableMiddleware",
}
N_ASGI = max(100, N // 4)  # Django's stock handler starts a thread per request: slower, so fewer


async def _asgi_rounds(applications: dict[str, Any], plaintext: str) -> dict[str, dict[str, Any]]:
    """Per handler: anonymous and key medians per round (the handlers alternate too), and the hops of one request."""
    runs: dict[str, dict[str, Any]] = {}
    for name, application in applications.items():
        anonymous = asgi_get(application, "/bench/noop-either", {})
        key = asgi_get(application, "/bench/noop-either", {"Authorization": f"Bearer {plaintext}"})
        assert await key() == 200
        runs[name] = {"anonymous": anonymous, "key": key, "hops": await thread_hops(anonymous), "rounds": ([], [])}
    for _ in range(ROUNDS):
        for run in runs.values():
            run["rounds"][0].append(await median_us_async(run["anonymous"], n=N_ASGI, warmup=WARMUP // 4))
            run["rounds"][1].append(await median_us_async(run["key"], n=N_ASGI, warmup=WARMUP // 4))
    return runs


def main() -> int:
    os.environ["REDIS_URL"] = bench_redis_url()
    import django

    django.setup()
    import asyncio
    import types

    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import clear_url_caches, include, path
    from rest_framework.permissions import AllowAny
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView
    from rest_framework_simplejwt.tokens import RefreshToken

    from apps.api_keys.authentication import APIKeyAuthentication
    from apps.api_keys.services import api_key_create, api_key_revoke
    from apps.organizations.actors import Actor
    from apps.organizations.models import Membership, Organization, Role
    from apps.organizations.views_base import OrganizationAPIView
    from apps.users.models import User
    from common.core.asgi import DocentASGIHandler
    from common.core.redis import hot_script

    class NoopAnonymous(APIView):
        authentication_classes: list[Any] = []
        permission_classes = [AllowAny]

        def get(self, request: Any) -> Response:
            return Response({})

    class NoopEither(APIView):
        """Default authentication classes; anonymous callers and keys with the scope both get in."""

        permission_classes = [AllowAny]
        required_scopes = {"GET": "analytics:read"}

        def get(self, request: Any) -> Response:
            return Response({})

    class NoopEitherRoundTrip(NoopEither):
        """The same view making one bare EVALSHA round trip: the floor of what a key counted in Redis adds."""

        def get(self, request: Any) -> Response:
            hot_script(FLOOR_SCRIPT, [], [])
            return Response({})

    class NoopScoped(OrganizationAPIView):
        required_scopes = {"GET": "analytics:read"}

        def get(self, request: Any) -> Response:
            return Response({})

    bench_urls = types.ModuleType("bench_auth_urls")
    bench_urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bench/noop-anonymous", NoopAnonymous.as_view()),
        path("bench/noop-either", NoopEither.as_view()),
        path("bench/noop-either-round-trip", NoopEitherRoundTrip.as_view()),
        path("bench/noop", NoopScoped.as_view()),
        path("", include("config.urls")),
    ]
    sys.modules["bench_auth_urls"] = bench_urls

    call_command("migrate", verbosity=0)
    organization, _ = Organization.objects.get_or_create(slug="bench-auth", defaults={"name": "Bench auth"})
    user = User.objects.filter(email="bench-auth@docent.local").first() or User.objects.create_user(
        "bench-auth@docent.local", None
    )
    Membership.objects.unscoped().get_or_create(organization=organization, user=user, defaults={"role": Role.ADMIN})
    issued = api_key_create(
        organization=organization,
        actor=Actor.for_user(user).in_organization(organization),
        name="bench",
        scopes=["analytics:read"],
        rate_limit_per_minute=10**9,
    )
    host: dict[str, Any] = {"HTTP_HOST": "127.0.0.1"}
    client = Client(**host)
    key_headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {issued.plaintext}"}
    jwt_headers: dict[str, Any] = {
        "HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}",
        "HTTP_X_ORGANIZATION": str(organization.pk),
    }
    for headers in (key_headers, jwt_headers):
        status = client.get("/api/v1/usage", **headers).status_code
        if status != 200:
            print(f"setup failed: GET /api/v1/usage answered {status}")
            return 1

    factory = APIRequestFactory()
    authentication = APIKeyAuthentication()

    def auth_only() -> None:
        authentication.authenticate(Request(factory.get("/api/v1/usage", **key_headers, **host)))

    try:
        with override_settings(ROOT_URLCONF="bench_auth_urls"):
            clear_url_caches()
            for headers in (key_headers, jwt_headers):
                assert client.get("/bench/noop", **headers).status_code == 200
            assert client.get("/bench/noop-either", **key_headers).status_code == 200
            # The two sides of the target alternate, round after round, so drifting load hits both alike.
            same_anonymous: list[float] = []
            same_key: list[float] = []
            same_round_trip: list[float] = []
            for _ in range(ROUNDS):
                same_anonymous.append(_median_us(lambda: client.get("/bench/noop-either")))
                same_key.append(_median_us(lambda: client.get("/bench/noop-either", **key_headers)))
                same_round_trip.append(_median_us(lambda: client.get("/bench/noop-either-round-trip")))
            bare_round_trip = _median_us(lambda: hot_script(FLOOR_SCRIPT, [], []))
            with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m not in SYNC_ONLY_MIDDLEWARE]):
                async_chain = ASGIHandler()
            asgi_runs = asyncio.run(
                _asgi_rounds(
                    {
                        "config.asgi (ADR 0116)": DocentASGIHandler(),
                        "config.asgi's chain, a new thread per request": DocentASGIHandler(keep_threads=0),
                        "Django's stock ASGIHandler": ASGIHandler(),
                        "the stock handler, the sync-only middleware left out (an async chain)": async_chain,
                    },
                    issued.plaintext,
                )
            )
            healthz = _median_us(lambda: client.get("/healthz"))
            anonymous = _median_us(lambda: client.get("/bench/noop-anonymous"))
            key = _median_us(lambda: client.get("/bench/noop", **key_headers))
            jwt = _median_us(lambda: client.get("/bench/noop", **jwt_headers))
            auth = _median_us(auth_only)
            usage = _median_us(lambda: client.get("/api/v1/usage", **key_headers))
    finally:
        api_key_revoke(
            organization=organization,
            actor=Actor.for_user(user).in_organization(organization),
            api_key_id=issued.api_key.pk,
        )

    backend = f"redis ({settings.REDIS_URL})" if settings.USE_REDIS else "local cache fallback (no Redis)"
    print(f"backend: {backend}; {N} requests each after {WARMUP} warm-up, medians")
    anonymous_same, key_same = statistics.median(same_anonymous), statistics.median(same_key)
    added = [k - a for k, a in zip(same_key, same_anonymous, strict=True)]
    print(f"same no-op view, {ROUNDS} alternating rounds (median of the rounds' medians):")
    print(f"  anonymous                       {anonymous_same:8.0f} us")
    print(f"  API key (auth + rate limit)     {key_same:8.0f} us")
    print(
        f"  added by the API key            {statistics.median(added):8.0f} us "
        f"(rounds: {', '.join(f'{a:.0f}' for a in added)}); ratio {key_same / anonymous_same:.2f}x; target <= 100 us"
    )
    floor_added = [f - a for f, a in zip(same_round_trip, same_anonymous, strict=True)]
    print(
        f"  floor: anonymous + one bare EVALSHA round trip {statistics.median(same_round_trip):5.0f} us, adding "
        f"{statistics.median(floor_added):.0f} us (rounds: {', '.join(f'{a:.0f}' for a in floor_added)}); "
        f"the key adds {statistics.median(added) - statistics.median(floor_added):.0f} us more"
    )
    print(f"  the same bare EVALSHA round trip, back to back outside a request: {bare_round_trip:.0f} us")
    for name, run in asgi_runs.items():
        asgi_anonymous, asgi_key = run["rounds"]
        asgi_added = [k - a for k, a in zip(asgi_key, asgi_anonymous, strict=True)]
        print(f"same no-op view through {name}, {ROUNDS} alternating rounds of {N_ASGI}:")
        print(f"  thread hops per request         {run['hops']}")
        print(f"  anonymous                       {statistics.median(asgi_anonymous):8.0f} us")
        print(f"  API key (auth + rate limit)     {statistics.median(asgi_key):8.0f} us")
        print(
            f"  added by the API key            {statistics.median(asgi_added):8.0f} us "
            f"(rounds: {', '.join(f'{a:.0f}' for a in asgi_added)}); "
            f"ratio {statistics.median(asgi_key) / statistics.median(asgi_anonymous):.2f}x"
        )
    docent, _, stock, _ = (statistics.median(run["rounds"][0]) for run in asgi_runs.values())
    print(f"anonymous through config.asgi / through Django's stock handler: {docent / stock:.2f}x")
    print(f"GET /healthz (no auth)            {healthz:8.0f} us")
    print(f"no-op DRF view, anonymous         {anonymous:8.0f} us")
    print(f"no-op org view, API key           {key:8.0f} us")
    print(f"no-op org view, JWT               {jwt:8.0f} us")
    print(f"API-key authenticate() alone      {auth:8.0f} us")
    print(f"GET /api/v1/usage, API key        {usage:8.0f} us")
    print(f"ratio API-key request / unauthenticated healthz: {key / healthz:.2f}x")
    print(f"ratio API-key request / anonymous no-op DRF view: {key / anonymous:.2f}x")
    print(f"ratio API-key request / JWT request (same view): {key / jwt:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
