"""Demo data: an offline provider (no network, no key) for the demo organization. Idempotent."""

from __future__ import annotations

from apps.chatbot_provider.models import OFFLINE_CHAT_MODEL, OFFLINE_EMBEDDING_MODEL, ChatbotProvider, ProviderKind
from apps.organizations.actors import Actor

DEMO_PROVIDER_NAME = "Offline (built-in)"


def seed(*, actor: Actor) -> ChatbotProvider:
    organization = actor.org
    provider, _ = ChatbotProvider.objects.for_org(organization).get_or_create(
        name=DEMO_PROVIDER_NAME,
        defaults={
            "organization": organization,
            "kind": ProviderKind.OFFLINE,
            "default_chat_model": OFFLINE_CHAT_MODEL,
            "default_embedding_model": OFFLINE_EMBEDDING_MODEL,
        },
    )
    return provider
