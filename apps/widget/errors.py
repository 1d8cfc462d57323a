"""The widget's typed errors: each a code the widget turns into words (docs/widget.md, "Widget API")."""

from __future__ import annotations

from typing import Any

from common.core.errors import Conflict, DomainError, NotFound, PermissionDeniedError, RateLimited


class UnknownBot(NotFound):
    code = "unknown_bot"
    default_message = "No bot has this key."


class OriginNotAllowed(PermissionDeniedError):
    code = "origin_not_allowed"
    default_message = "This bot's widget may not be used on this site."


class WrongBot(PermissionDeniedError):
    code = "wrong_bot"
    default_message = "This visitor token belongs to another bot."


class WidgetUnauthorized(DomainError):
    """A widget call whose visitor is not authenticated; the subclasses say why."""

    status_code = 401
    code = "not_authenticated"


class IdentityRequired(WidgetUnauthorized):
    code = "identity_required"
    default_message = "This bot only talks to signed-in visitors: the site must pass a signed identity."


class InvalidIdentity(WidgetUnauthorized):
    code = "invalid_identity"
    default_message = "The visitor's identity token is not valid."


class InvalidVisitorToken(WidgetUnauthorized):
    code = "invalid_visitor_token"
    default_message = "The visitor token is missing or not valid. Open a new session."


class VisitorTokenExpired(WidgetUnauthorized):
    code = "visitor_token_expired"
    default_message = "The visitor token has expired. Open a new session."


class BudgetExhausted(RateLimited):
    code = "budget_exhausted"
    default_message = "This bot has answered all it may today. Please come back later."


def rate_limited(message: str, *, retry_after: int, limit: str) -> RateLimited:
    return RateLimited(message, retry_after=retry_after, details={"retry_after": retry_after, "limit": limit})


class HandoffConflict(Conflict):
    code = "handoff_state_conflict"

    def __init__(self, message: str, *, state: str, **details: Any) -> None:
        super().__init__(message, details={"state": state, **details})


class HandoffUnavailable(Conflict):
    code = "handoff_unavailable"
    default_message = "This bot does not hand conversations to people."
