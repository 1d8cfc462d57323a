"""Demo data: an offline provider (no network, no key) for the demo organization. Idempotent."""

from __future__ import annotations

from typing import Any

from apps.chatbot_provider.models import OFFLINE_CHAT_MODEL, OFFLINE_EMBEDDING_MODEL, ChatbotProvider, ProviderKind
from apps.organizations.models import Organization

DEMO_PROVIDER_NAME = "Offline (built-in)"


def seed(*, organization: Organization, user: Any) -> ChatbotProvider:
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
