"""The playground (a bot's test chat in the web UI): a turn like any other, recorded as a `web` conversation,
optionally answered with other settings for this one turn (top_k, minimum relevance, provider) that are never
saved on the bot. The evidence of the answer records which settings were changed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apps.chatbot.models import Conversation
from apps.chatbot.services.answer import ChatTurn
from apps.chatbot.services.turns import chat_turn_open
from apps.chatbot_provider.models import ChatbotProvider
from apps.organizations.actors import require_role
from apps.organizations.models import Role
from common.core.errors import ValidationFailed

if TYPE_CHECKING:
    from apps.organizations.actors import Actor

OFFLINE = "offline"  # the provider choice that means the built-in offline answerer


@dataclass(frozen=True)
class TrySettings:
    """Settings for one turn; None keeps the bot's own."""

    top_k: int | None = None
    min_relevance: float | None = None
    provider: str | None = None  # a provider id of the organization, or OFFLINE

    def __bool__(self) -> bool:
        return any(value is not None for value in (self.top_k, self.min_relevance, self.provider))


def _provider(actor: Actor, choice: str) -> ChatbotProvider | None:
    if choice == OFFLINE:
        return None
    try:
        provider_id = uuid.UUID(choice)
    except ValueError:
        provider_id = None
    provider = ChatbotProvider.objects.for_org(actor.org).filter(pk=provider_id).first() if provider_id else None
    if provider is None:
        raise ValidationFailed("Unknown provider.", details={"provider": ["Choose one of your providers."]})
    return provider


def playground_turn_open(
    *,
    actor: Actor,
    bot_id: Any,
    message: str,
    conversation_id: uuid.UUID | str | None = None,
    settings: TrySettings | None = None,
) -> ChatTurn:
    """Open a test-chat turn. Other settings need the admin role (they can pick any provider of the
    organization); they apply to this turn's bot object only, which is never saved."""
    settings = settings or TrySettings()
    provider = None
    if settings:
        require_role(actor, Role.ADMIN)
        if settings.top_k is not None and not 1 <= settings.top_k <= 30:
            raise ValidationFailed("Passages per answer must be 1 to 30.", details={"top_k": ["1 to 30."]})
        if settings.min_relevance is not None and not 0 <= settings.min_relevance <= 1:
            raise ValidationFailed("Minimum relevance must be 0 to 1.", details={"min_relevance": ["0 to 1."]})
        if settings.provider is not None:
            provider = _provider(actor, settings.provider)
    turn = chat_turn_open(
        actor=actor, bot_id=bot_id, message=message, conversation_id=conversation_id, source=Conversation.Source.WEB
    )
    bot = turn.bot
    if settings.top_k is not None and settings.top_k != bot.top_k:
        bot.top_k = settings.top_k
        turn.overrides["top_k"] = settings.top_k
    if settings.min_relevance is not None and settings.min_relevance != bot.min_relevance:
        bot.min_relevance = settings.min_relevance
        turn.overrides["min_relevance"] = settings.min_relevance
    if settings.provider is not None and (provider.pk if provider else None) != bot.provider_id:
        bot.provider = provider
        bot.model = ""  # the provider's default chat model: the bot's model belongs to its own provider
        bot.fallback_provider = None  # what answered is the provider asked for, or a failure
        turn.overrides["provider"] = provider.name if provider else "Offline"
    return turn
