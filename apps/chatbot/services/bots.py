"""Create, change and delete bots. Every change is audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from apps.chatbot.models import Chatbot
from apps.organizations.actors import Actor
from apps.organizations.audit import AuditAction, audit_record
from apps.organizations.models import Organization
from common.core.errors import ValidationFailed
from common.events import EventType, emit

BOT_FIELDS = (
    "name",
    "description",
    "system_prompt",
    "tone",
    "provider",
    "model",
    "fallback_provider",
    "temperature",
    "max_answer_tokens",
    "top_k",
    "min_relevance",
    "dont_know_message",
    "welcome_message",
    "suggested_questions",
    "allowed_origins",
    "widget_theme",
    "avatar_url",
    "allow_any_origin",
    "require_identity",
    "widget_daily_message_budget",
    "widget_daily_token_budget",
    "handoff_enabled",
)


def _validate(bot: Chatbot) -> None:
    problems: dict[str, list[str]] = {}
    for field in ("provider", "fallback_provider"):
        related = getattr(bot, field)
        if related is not None and related.organization_id != bot.organization_id:
            problems[field] = ["Unknown provider."]
    if bot.fallback_provider_id is not None and bot.fallback_provider_id == bot.provider_id:
        problems["fallback_provider"] = ["The fallback must differ from the main provider."]
    if Chatbot.objects.for_org(bot.organization_id).filter(name=bot.name).exclude(pk=bot.pk).exists():
        problems["name"] = ["A bot with this name already exists."]
    if problems:
        raise ValidationFailed(details=problems)


def _set_collections(bot: Chatbot, collection_ids: Sequence[Any] | None) -> None:
    if collection_ids is None:
        return
    from apps.documents.models import Collection

    wanted = {str(c) for c in collection_ids}
    found = list(Collection.objects.for_org(bot.organization_id).filter(id__in=wanted))
    if len(found) != len(wanted):
        raise ValidationFailed(details={"collections": ["Unknown collection."]})
    bot.collections.set(found)


@transaction.atomic
def bot_create(
    *, organization: Organization, actor: Actor, collections: Sequence[Any] | None = None, **fields: Any
) -> Chatbot:
    bot = Chatbot(organization=organization, **{k: v for k, v in fields.items() if k in BOT_FIELDS})
    _validate(bot)
    bot.save()
    _set_collections(bot, collections)
    audit_record(actor=actor, action=AuditAction.BOT_CREATED, target=bot, data={"name": bot.name})
    emit(EventType.BOT_CHANGED, organization=bot.organization_id, payload={"bot_id": str(bot.pk), "change": "created"})
    return bot


@transaction.atomic
def bot_update(*, bot: Chatbot, actor: Actor, collections: Sequence[Any] | None = None, **fields: Any) -> Chatbot:
    changed = []
    for name, value in fields.items():
        if name in BOT_FIELDS and getattr(bot, name) != value:
            setattr(bot, name, value)
            changed.append(name)
    _validate(bot)
    bot.save()
    if collections is not None:
        _set_collections(bot, collections)
        changed.append("collections")
    audit_record(actor=actor, action=AuditAction.BOT_UPDATED, target=bot, data={"name": bot.name, "changed": changed})
    emit(
        EventType.BOT_CHANGED,
        organization=bot.organization_id,
        payload={"bot_id": str(bot.pk), "change": "updated", "fields": changed},
    )
    return bot


@transaction.atomic
def bot_delete(*, bot: Chatbot, actor: Actor) -> None:
    audit_record(actor=actor, action=AuditAction.BOT_DELETED, target=bot, data={"name": bot.name})
    emit(EventType.BOT_CHANGED, organization=bot.organization_id, payload={"bot_id": str(bot.pk), "change": "deleted"})
    bot.delete()
