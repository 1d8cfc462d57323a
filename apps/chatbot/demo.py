"""Demo data: a bot on the demo organization's collections, answering with the offline provider. Idempotent."""

from __future__ import annotations

from apps.chatbot.models import Chatbot, Tone
from apps.chatbot_provider.demo import DEMO_PROVIDER_NAME
from apps.chatbot_provider.models import ChatbotProvider
from apps.organizations.actors import Actor

DEMO_BOT_NAME = "Demo assistant"


def seed(*, actor: Actor) -> Chatbot:
    organization = actor.org
    from apps.documents.models import Collection

    provider = ChatbotProvider.objects.for_org(organization).filter(name=DEMO_PROVIDER_NAME).first()
    bot, _created = Chatbot.objects.for_org(organization).get_or_create(
        name=DEMO_BOT_NAME,
        defaults={
            "organization": organization,
            "description": "Answers from the demo documents, with citations.",
            "tone": Tone.FRIENDLY,
            "provider": provider,
            "welcome_message": "Hello! Ask me anything about the demo documents.",
            "suggested_questions": [
                "How long do I have to return an item?",
                "How often should the impeller be checked?",
            ],
            # The widget guide's "Try it locally" page (python3 -m http.server 8080) may embed it.
            "allowed_origins": ["http://localhost:8080"],
            "handoff_enabled": True,
        },
    )
    collections = list(Collection.objects.for_org(organization))
    if collections and not bot.collections.exists():
        bot.collections.set(collections)
    return bot
