"""Typed errors of the webhooks app (mapped to the common error format by the one exception handler)."""

from __future__ import annotations

from common.core.errors import DomainError


class WebhookURLInvalid(DomainError):
    code = "webhook_url_invalid"
    status_code = 400
    default_message = "The webhook URL is not valid."


class WebhookURLBlocked(DomainError):
    """The URL's host resolves to an address Docent must not call (loopback, private, link-local ...)."""

    code = "webhook_url_blocked"
    status_code = 400
    default_message = "The webhook URL points at a non-public address."
