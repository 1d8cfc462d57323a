"""Typed domain errors. Services raise these; one exception handler maps them to HTTP."""

from __future__ import annotations

from typing import Any


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
