"""A chat turn's bot (with its providers, organization and collections), kept by each web process between
answers and checked against a per-organization version token in Redis: one round trip instead of two
statements and their ORM work. Any save or delete of a bot, a provider, a collection or the organization,
and any change of a bot's collections, writes a new token (now and on commit), so the next turn reloads
(ADR 0102). Without Redis nothing is kept. Instances are shared between requests: read them, never change them.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.db import transaction

from common.core.redis import hot_execute, redis_client

KEEP_SECONDS = 60
MAX_BOTS = 2_000
_kept: OrderedDict[tuple[str, str], tuple[bytes, float, Any]] = OrderedDict()
_lock = threading.Lock()


def _version_key(organization_id: Any) -> str:
    return f"bots:version:{organization_id}"


def bot_cached(organization_id: Any, bot_id: Any, load: Callable[[], Any]) -> Any:
    """The bot `load()` returns, or the one this process kept under the organization's current version."""
    client = redis_client()
    if client is None:
        return load()
    key = (str(organization_id), str(bot_id))
    version = hot_execute(("GET", _version_key(organization_id)))[0]
    if version is None:
        client.set(_version_key(organization_id), secrets.token_hex(8), nx=True)
        version = client.get(_version_key(organization_id))
    with _lock:
        kept = _kept.get(key)
    if kept is not None and kept[0] == version and kept[1] > time.monotonic():
        return kept[2]
    bot = load()
    if bot is not None and version is not None:
        with _lock:
            _kept[key] = (version, time.monotonic() + KEEP_SECONDS, bot)
            _kept.move_to_end(key)
            while len(_kept) > MAX_BOTS:
                _kept.popitem(last=False)
    return bot


def forget(organization_id: Any) -> None:
    client = redis_client()
    if client is None or organization_id is None:
        return

    def bump() -> None:
        client.set(_version_key(organization_id), secrets.token_hex(8))

    bump()
    transaction.on_commit(bump)


def changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """post_save / post_delete / m2m_changed of what a bot is loaded with: cache hygiene, not a business rule."""
    forget(getattr(instance, "organization_id", None) or getattr(instance, "pk", None))


def connect() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from apps.chatbot.models import Chatbot
    from apps.chatbot_provider.models import ChatbotProvider
    from apps.documents.models import Collection
    from apps.organizations.models import Organization

    for model in (Chatbot, ChatbotProvider, Collection, Organization):
        post_save.connect(changed, sender=model, dispatch_uid=f"bot-cache-save-{model.__name__}")
        post_delete.connect(changed, sender=model, dispatch_uid=f"bot-cache-delete-{model.__name__}")
    m2m_changed.connect(changed, sender=Chatbot.collections.through, dispatch_uid="bot-cache-collections")
