"""Sending the transactional emails (verification, password reset, invitations) after the transaction commits."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.template import Context
from django.template.loader import get_template

from apps.users.tasks import email_send_task


def site_link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def email_send_on_commit(*, to: str, subject: str, template: str, context: dict[str, Any]) -> None:
    """Render templates/emails/<template>.txt now; queue its delivery once the surrounding transaction commits.

    Delivery runs on a Celery worker, so the response time does not depend on the mail server (nor tell
    whether an email was sent at all, which matters for the password reset request).

    The body is plain text, so nothing is HTML-escaped: "O'Brien & Sons" reads as typed, not as
    "O&#x27;Brien &amp; Sons"."""
    body = email_render(template=template, context=context)
    transaction.on_commit(lambda: email_send_task.delay(to=to, subject=subject, body=body))


def email_render(*, template: str, context: dict[str, Any]) -> str:
    """templates/emails/<template>.txt rendered as plain text (autoescaping off)."""
    return str(get_template(f"emails/{template}.txt").template.render(Context(context, autoescape=False)))  # type: ignore[attr-defined]
