"""Which sites may embed a bot's widget: the page's `Origin` against the bot's allowed origins.

Origins are compared in their canonical form (scheme, lower-case host, port only when not the default), so
`https://Example.com:443/` in the bot's settings matches the browser's `https://example.com`. An empty list
refuses every site unless the owner set `allow_any_origin`; a request without an Origin (curl, a server) is
refused too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.cache import cache
from django.db.models import Q

from apps.chatbot.models import Chatbot

DEFAULT_PORTS = {"http": 80, "https": 443}
PREFLIGHT_CACHE_SECONDS = 30


def origin_normalize(value: str | None) -> str | None:
    """`scheme://host[:port]` in canonical form, or None for anything that is not an http(s) origin."""
    if not value or len(value) > 300:
        return None
    try:
        parsed = urlsplit(value.strip())
        port = parsed.port
    except ValueError:
        return None
    scheme = parsed.scheme.lower()
    host = (parsed.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def origin_allowed(bot: Chatbot, origin: str | None) -> bool:
    normalized = origin_normalize(origin)
    if normalized is None:
        return False
    if bot.allow_any_origin:
        return True
    return normalized in {origin_normalize(allowed) for allowed in bot.allowed_origins or []}


def origin_allowed_by_any_bot(origin: str | None) -> bool:
    """Whether some bot may be embedded on `origin`: what a CORS preflight, which names no bot, can be told.
    The request that follows is checked against its own bot."""
    normalized = origin_normalize(origin)
    if normalized is None:
        return False
    cache_key = f"widget:preflight:{normalized}"
    known = cache.get(cache_key)
    if known is None:
        known = (
            Chatbot.objects.unscoped()
            .filter(
                Q(allow_any_origin=True)
                | Q(allowed_origins__contains=[normalized])
                | Q(allowed_origins__contains=[normalized + "/"])
            )
            .exists()
        )
        cache.set(cache_key, known, timeout=PREFLIGHT_CACHE_SECONDS)
    return bool(known)
