"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests. Touches nothing else."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means not ready
        return f"database unreachable: {type(exc).__name__}"
    return None


def _check_migrations() -> str | None:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"migrations unknown: {type(exc).__name__}"
    return f"{len(plan)} migration(s) not applied" if plan else None


def _check_redis() -> str | None:
    url = getattr(settings, "REDIS_URL", "")
    if not getattr(settings, "USE_REDIS", False) or not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:
        return f"redis unreachable: {type(exc).__name__}"
    return None


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to take traffic: database answers, migrations applied, Redis answers when configured."""
    checks: dict[str, Any] = {}
    db_error = _check_database()
    checks["database"] = db_error or "ok"
    checks["migrations"] = (_check_migrations() or "ok") if db_error is None else "skipped: database unreachable"
    checks["redis"] = _check_redis() or ("ok" if getattr(settings, "USE_REDIS", False) else "not configured")
    failing = [name for name, value in checks.items() if value not in ("ok", "not configured")]
    status_code = 503 if failing else 200
    return JsonResponse(
        {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks}, status=status_code
    )
