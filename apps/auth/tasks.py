"""Background work of the account flows (thin: arguments in, one call out)."""

from __future__ import annotations

from celery import shared_task

from apps.auth.links import password_reset_send
from apps.auth.one_time import expired_tokens_purge


@shared_task(ignore_result=True)
def password_reset_send_task(*, email: str) -> None:
    password_reset_send(email=email)


@shared_task(ignore_result=True)
def expired_tokens_purge_task() -> None:
    expired_tokens_purge()
