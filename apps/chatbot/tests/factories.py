import factory

from apps.chatbot.models import Chatbot, Conversation, Message, Participant
from apps.organizations.tests.factories import OrganizationFactory
from common.core.tests.factories import ModelFactory


class ChatbotFactory(ModelFactory):
    class Meta:
        model = Chatbot

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Bot {n}")
    description = "Answers questions about the handbook."
    provider = None  # the built-in offline answerer


class ConversationFactory(ModelFactory):
    class Meta:
        model = Conversation

    bot = factory.SubFactory(ChatbotFactory)
    organization = factory.SelfAttribute("bot.organization")
    title = factory.Sequence(lambda n: f"Question {n}")


class MessageFactory(ModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    organization = factory.SelfAttribute("conversation.organization")
    role = Message.Role.ASSISTANT
    sender_kind = factory.LazyAttribute(lambda m: "bot" if m.role == Message.Role.ASSISTANT else "user")
    sender_bot = factory.LazyAttribute(lambda m: m.conversation.bot if m.role == Message.Role.ASSISTANT else None)
    content = "The handbook says so [1]."
    status = Message.Status.COMPLETE


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    conversation = factory.SubFactory(ConversationFactory)
    organization = factory.SelfAttribute("conversation.organization")
    kind = Participant.Kind.BOT
    bot = factory.SelfAttribute("conversation.bot")
