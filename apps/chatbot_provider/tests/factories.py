import factory

from apps.chatbot_provider.models import OFFLINE_CHAT_MODEL, OFFLINE_EMBEDDING_MODEL, ChatbotProvider, ProviderKind
from apps.organizations.tests.factories import OrganizationFactory
from common.core.tests.factories import ModelFactory


class ChatbotProviderFactory(ModelFactory):
    class Meta:
        model = ChatbotProvider

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Provider {n}")
    kind = ProviderKind.OFFLINE
    default_chat_model = OFFLINE_CHAT_MODEL
    default_embedding_model = OFFLINE_EMBEDDING_MODEL
