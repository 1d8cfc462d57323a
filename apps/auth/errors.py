"""Typed errors of the authentication flows."""

from __future__ import annotations

from common.core.errors import DomainError, RateLimited


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status_code = 401
    default_message = "The email or password is incorrect."


class InvalidToken(DomainError):
    code = "invalid_token"
    status_code = 400
    default_message = "This link is invalid, expired or already used."


class LoginThrottled(RateLimited):
    code = "too_many_login_attempts"

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(
            f"Too many sign-in attempts. Wait {retry_after} seconds, then try again.",
            retry_after=retry_after,
            details={"retry_after_seconds": retry_after},
        )
