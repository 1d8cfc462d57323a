"""Reads of the chatbot_provider app: an organization's providers."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.chatbot_provider.models import ChatbotProvider
from common.core.errors import NotFound


def provider_list(*, organization: Any) -> QuerySet[ChatbotProvider]:
    """The organization's providers, by name."""
    return ChatbotProvider.objects.for_org(organization).order_by("name")


def provider_get(*, organization: Any, provider_id: Any) -> ChatbotProvider:
    provider = ChatbotProvider.objects.for_org(organization).filter(pk=provider_id).first()
    if provider is None:
        raise NotFound("Provider not found.")
    return provider
