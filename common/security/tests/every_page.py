"""Every server-rendered page an owner can open, filled with one of everything (a bot that has answered with
evidence, a document, a key, a provider, a webhook): for the checks that must hold on every page."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

DATA_BLOCK = re.compile(r'<script id="[\w-]+" type="application/json">.*?</script>', re.S)  # json_script: never run


def _page_routes() -> list[str]:
    def walk(patterns: list[Any], prefix: str = "") -> Any:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    skipped = ("api/", "openai/", "admin/", "healthz", "readyz", "^")
    return [route for route in walk(get_resolver().url_patterns) if not route.startswith(skipped)]


def every_owner_page(capture_on_commit: Any) -> list[tuple[str, Any]]:
    """(path, response) for every page that answers an owner's GET with HTML (needs a transactional db)."""
    from apps.api_keys.tests.factories import APIKeyFactory
    from apps.chatbot.models import Conversation, Message
    from apps.chatbot.services import bots as bot_services
    from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
    from apps.documents.models import Document
    from apps.documents.services.documents import collection_create, document_create_from_text
    from apps.organizations.actors import Actor
    from apps.organizations.models import Role
    from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
    from apps.webhooks.tests.factories import WebhookEndpointFactory

    organization = OrganizationFactory()
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    client = Client()
    client.force_login(owner)
    actor = Actor.for_user(owner).in_organization(organization)
    with capture_on_commit(execute=True):
        collection = collection_create(organization=organization, actor=actor, name="Handbook")
        document_create_from_text(collection=collection, actor=actor, title="Handbook", text="Vacation: 25 days.")
    bot = bot_services.bot_create(organization=organization, actor=actor, name="HR", collections=[collection.pk])
    b"".join(client.post(f"/bots/{bot.pk}/chat/ask/", {"message": "How many vacation days?"}).streaming_content)
    answer = Message.objects.for_org(organization).get(role="assistant")
    assert answer.evidence["passages"], "the page walk needs an answer with evidence"
    Conversation.objects.for_org(organization).update(handoff_state="waiting")  # the inbox shows its badge
    primary_keys = {
        "bots/": bot.pk,
        "conversations/": Conversation.objects.for_org(organization).get().pk,
        "providers/": ChatbotProviderFactory(organization=organization).pk,
    }
    values = {
        "message_id": answer.pk,
        "collection_id": collection.pk,
        "document_id": Document.objects.for_org(organization).get().pk,
        "api_key_id": APIKeyFactory(organization=organization).pk,
        "webhook_endpoint_id": WebhookEndpointFactory(organization=organization).pk,
    }
    pages = []
    for route in _page_routes():
        path = route
        for prefix, value in primary_keys.items():
            if path.startswith(prefix):
                path = path.replace("<uuid:pk>", str(value))
        for name, value in values.items():
            path = path.replace(f"<uuid:{name}>", str(value))
        if "<" in path:
            continue  # tokens and memberships: POST-only or one-time links, checked by their own suites
        response = client.get("/" + path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            pages.append((path, response))
    return pages
