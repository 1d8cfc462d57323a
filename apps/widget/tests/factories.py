import secrets

import factory
from django.utils import timezone

from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory
from apps.widget.models import HandoffState, Visitor, WidgetConversation
from common.core.tests.factories import ModelFactory
from common.security.tokens import token_hash


class VisitorFactory(ModelFactory):
    class Meta:
        model = Visitor

    bot = factory.SubFactory(ChatbotFactory)
    organization = factory.SelfAttribute("bot.organization")
    public_id = factory.LazyFunction(lambda: f"v_{secrets.token_urlsafe(12)}")
    resume_hash = factory.LazyFunction(lambda: token_hash(secrets.token_urlsafe(16)))


class WidgetConversationFactory(ModelFactory):
    """A widget conversation waiting for a person."""

    class Meta:
        model = WidgetConversation

    visitor = factory.SubFactory(VisitorFactory)
    organization = factory.SelfAttribute("visitor.organization")
    bot = factory.SelfAttribute("visitor.bot")
    conversation = factory.SubFactory(
        ConversationFactory,
        bot=factory.SelfAttribute("..bot"),
        organization=factory.SelfAttribute("..organization"),
        source="widget",
        visitor_id=factory.SelfAttribute("..visitor.public_id"),
        handoff_state=factory.SelfAttribute("..state"),  # as apps.widget.handoff keeps it
    )
    state = HandoffState.WAITING
    requested_at = factory.LazyFunction(timezone.now)
