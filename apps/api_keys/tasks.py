"""Periodic copy of the live usage counters (Redis) into the APIKeyUsageDaily table."""

from __future__ import annotations

from celery import shared_task

from apps.api_keys.services import usage_flush


@shared_task(ignore_result=True)
def api_key_usage_flush_task() -> int:
    return usage_flush()
