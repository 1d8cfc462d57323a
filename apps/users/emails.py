"""Sending the transactional emails (verification, password reset, invitations) after the transaction commits."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string


def site_link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def email_send_on_commit(*, to: str, subject: str, template: str, context: dict[str, Any]) -> None:
    """Render templates/emails/<template>.txt and send it once the surrounding transaction commits."""
    body = render_to_string(f"emails/{template}.txt", context)

    def send() -> None:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)

    transaction.on_commit(send)
