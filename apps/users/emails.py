"""Sending the transactional emails (verification, password reset, invitations) after the transaction commits."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from apps.users.tasks import email_send_task


def site_link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def email_send_on_commit(*, to: str, subject: str, template: str, context: dict[str, Any]) -> None:
    """Render templates/emails/<template>.txt now; queue its delivery once the surrounding transaction commits.

    Delivery runs on a Celery worker, so the response time does not depend on the mail server (nor tell
    whether an email was sent at all, which matters for the password reset request)."""
    body = render_to_string(f"emails/{template}.txt", context)
    transaction.on_commit(lambda: email_send_task.delay(to=to, subject=subject, body=body))
