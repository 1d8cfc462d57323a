"""LLM-token metering for every door: a quota check before a provider is asked, usage recorded after.

This module only defines the seam, in the layer every app already depends on, so that the apps that spend
tokens (chatbot, and later the widget and the OpenAI-compatible endpoint) never import the app that counts
them. apps.api_keys registers the implementation in its AppConfig.ready(): an API key's tokens count
against the key and its organization, any other actor's against the organization. See
docs/adr/0022-chat-turn-service.md.
"""

from __future__ import annotations

import logging
from typing import Protocol

from apps.organizations.actors import Actor

logger = logging.getLogger(__name__)


class TokenMeter(Protocol):
    def check(self, actor: Actor) -> None:
        """Raise common.core.errors.QuotaExceeded when the actor may not spend more tokens now."""

    def record(self, actor: Actor, tokens: int) -> None:
        """Count `tokens` (prompt + completion) the actor just spent."""


_meter: TokenMeter | None = None


def token_meter_register(meter: TokenMeter) -> None:
    """Install the implementation (one per process; registering again replaces it)."""
    global _meter
    _meter = meter


def token_meter() -> TokenMeter | None:
    return _meter


def token_quota_check(*, actor: Actor) -> None:
    """Refuse (429 quota_exceeded) before any provider call when the actor's token quota is used up."""
    if _meter is not None:
        _meter.check(actor)


def token_usage_record(*, actor: Actor, tokens: int) -> None:
    """Add the tokens an answer used to the actor's counters. Never raises: the answer is already given."""
    if _meter is None or tokens <= 0:
        return
    try:
        _meter.record(actor, int(tokens))
    except Exception:
        logger.exception("token metering failed for %s", actor.describe())
