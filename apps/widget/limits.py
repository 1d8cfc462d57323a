"""The widget's limits: per-visitor and per-IP rates, and each bot's daily budget of answers and tokens.

Counted in fixed windows in the cache (common.security.ratelimit, Redis in production), so every process
shares them. Refusals are 429 with `details.retry_after` (seconds) and a Retry-After header. Tokens also go
to the organization's own quotas and usage through the chat turn (apps.organizations.metering).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.chatbot.models import Chatbot
from apps.widget.errors import BudgetExhausted, rate_limited
from common.security.ratelimit import Window, window


def _rate(name: str) -> str:
    return str(settings.WIDGET_RATES[name])


def session_rate_check(*, ip: str) -> None:
    retry = window("widget_session_ip", ip or "-", _rate("session_ip")).take()
    if retry is not None:
        raise rate_limited("Too many new chats from this address. Try again shortly.", retry_after=retry, limit="ip")


def read_rate_check(*, visitor_id: str) -> None:
    retry = window("widget_read_visitor", visitor_id, _rate("read_visitor")).take()
    if retry is not None:
        raise rate_limited("Too many requests. Try again shortly.", retry_after=retry, limit="visitor")


def message_rate_check(*, visitor_id: str, ip: str) -> None:
    """A visitor's message: within the visitor's rate and its address's rate (counted whether or not sent)."""
    retry = window("widget_msg_visitor", visitor_id, _rate("message_visitor")).take()
    if retry is not None:
        raise rate_limited("You are sending messages too fast. Wait a moment.", retry_after=retry, limit="visitor")
    retry = window("widget_msg_ip", ip or "-", _rate("message_ip")).take()
    if retry is not None:
        raise rate_limited("Too many messages from this address. Wait a moment.", retry_after=retry, limit="ip")


def _budget(bot: Chatbot, what: str, amount: int) -> Window:
    return window(f"widget_budget_{what}", str(bot.pk), f"{amount}/d")


def _exhausted(what: str, retry_after: int) -> BudgetExhausted:
    return BudgetExhausted(retry_after=retry_after, details={"retry_after": retry_after, "budget": what})


def bot_budget_take(*, bot: Chatbot) -> None:
    """Count one answer against the bot's daily budgets; 429 budget_exhausted when either is used up."""
    tokens = bot.widget_daily_token_budget
    if tokens is not None:
        used = _budget(bot, "tokens", max(tokens, 1))
        if tokens == 0 or used.count() >= tokens:
            raise _exhausted("tokens", used.retry_after())
    messages = bot.widget_daily_message_budget
    if messages is not None:
        if messages == 0:
            raise _exhausted("messages", _budget(bot, "messages", 1).retry_after())
        retry = _budget(bot, "messages", messages).take()
        if retry is not None:
            raise _exhausted("messages", retry)


def bot_tokens_spent(*, bot: Chatbot, tokens: int) -> None:
    if bot.widget_daily_token_budget is not None and tokens > 0:
        _budget(bot, "tokens", max(bot.widget_daily_token_budget, 1)).hit(tokens)


def bot_budget_usage(*, bot: Chatbot) -> dict[str, Any]:
    """Today's counts against the bot's budgets (for the bot page and the API)."""
    return {
        "messages": _budget(bot, "messages", max(bot.widget_daily_message_budget or 1, 1)).count(),
        "tokens": _budget(bot, "tokens", max(bot.widget_daily_token_budget or 1, 1)).count(),
        "message_budget": bot.widget_daily_message_budget,
        "token_budget": bot.widget_daily_token_budget,
    }
