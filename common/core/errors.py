"""Typed domain errors. Services raise these; one exception handler maps them to HTTP."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of every error a service raises on purpose. Subclasses set code and status_code."""

    code = "error"
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class PermissionDeniedError(DomainError):
    code = "permission_denied"
    status_code = 403
    default_message = "You do not have permission to perform this action."


class ValidationFailed(DomainError):
    code = "validation_error"
    status_code = 400
    default_message = "Invalid input."


class Conflict(DomainError):
    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state."


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    status_code = 429
    default_message = "Quota exceeded."


class RateLimited(DomainError):
    code = "rate_limited"
    status_code = 429
    default_message = "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: int = 60, details: dict[str, Any] | None = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """A store the request needs (the database, the shared Redis) does not answer. Retry later."""

    code = "service_unavailable"
    status_code = 503
    default_message = "A service this request needs is unavailable. Try again shortly."
    retry_after = 5


def unavailable_store_error(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 an outage of the database or of Redis turns into, or None for any other exception.

    Every limit and quota fails closed: when the shared counters cannot be read, the request is refused rather
    than admitted unchecked (docs/adr/0090-fail-closed-when-a-store-is-down.md).
    """
    from django.db import InterfaceError, OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    if isinstance(exc, OperationalError | InterfaceError):
        store, message = "the database", "The database is unavailable. Try again shortly."
    elif isinstance(exc, RedisConnectionError | RedisTimeoutError):
        store, message = "Redis", "Limits and quotas cannot be checked right now. Try again shortly."
    else:
        return None
    logger.warning("answering 503: %s does not answer (%s: %s)", store, type(exc).__name__, exc)
    return ServiceUnavailable(message)
