"""The adapter registry: every kind has an adapter, and a new kind needs nothing but its adapter registered."""

from collections.abc import Mapping

import pytest

from apps.chatbot_provider import clients, services
from apps.chatbot_provider.clients import ChatMessage, TextDelta, Usage, embed_texts, stream_chat
from apps.chatbot_provider.clients.offline import OfflineClient
from apps.chatbot_provider.errors import ProviderMisconfigured
from apps.chatbot_provider.models import ChatbotProvider, ProviderKind
from apps.organizations.actors import Actor
from common.core.errors import ValidationFailed


class EchoClient:
    """A kind Docent does not ship: repeats the question and embeds each text as its length."""

    uses_network = True
    required_fields: Mapping[str, str] = {"api_key": "Echo needs a key."}
    default_chat_model = ""
    default_embedding_model = ""

    def __init__(self):
        self.calls = []

    def stream_chat(self, provider, messages, *, model, temperature, max_tokens, passages, question):
        self.calls.append(("chat", provider.pk, model))
        yield TextDelta(f"echo: {messages[-1].content}")
        yield Usage(1, 2, model or "echo-1")

    def embed(self, provider, texts, *, model, dimensions):
        self.calls.append(("embed", provider.pk, model))
        return [[float(len(text))] * dimensions for text in texts]


@pytest.fixture
def echo(monkeypatch):
    client = EchoClient()
    monkeypatch.setitem(clients.CLIENTS, "echo", client)
    return client


@pytest.mark.parametrize("kind", ProviderKind.values)
def test_every_provider_kind_has_an_adapter(kind):
    client = clients.client_for(ChatbotProvider(name="P", kind=kind))
    assert clients.CLIENTS[kind] is client
    assert callable(client.stream_chat) and callable(client.embed)


def test_the_registry_names_no_kind_a_provider_cannot_have():
    assert set(clients.CLIENTS) == set(ProviderKind.values)


def test_no_provider_is_the_offline_adapter():
    assert isinstance(clients.client_for(None), OfflineClient)


def test_a_kind_without_an_adapter_is_a_misconfigured_provider():
    with pytest.raises(ProviderMisconfigured):
        list(stream_chat(provider=ChatbotProvider(name="P", kind="unknown"), messages=[ChatMessage("user", "hi")]))


def test_a_registered_adapter_answers_chat_and_embeddings_for_its_kind(echo):
    provider = ChatbotProvider(name="Echo", kind="echo", api_key="k")
    events = list(stream_chat(provider=provider, messages=[ChatMessage("user", "hi")], model="echo-2"))
    assert events == [TextDelta("echo: hi"), Usage(1, 2, "echo-2")]
    assert embed_texts(provider=provider, texts=["ab", "abc"], model="e", dimensions=3) == [[2.0] * 3, [3.0] * 3]
    assert [call[0] for call in echo.calls] == ["chat", "embed"]


@pytest.mark.django_db
def test_a_registered_adapter_sets_its_kind_s_rules_and_is_tested_like_any_provider(echo, organization, user):
    with pytest.raises(ValidationFailed) as refused:
        services.provider_create(
            organization=organization,
            actor=Actor.for_user(user).in_organization(organization),
            name="Echo",
            kind="echo",
        )
    assert refused.value.details == {"api_key": ["Echo needs a key."]}

    provider = services.provider_create(
        organization=organization,
        actor=Actor.for_user(user).in_organization(organization),
        name="Echo",
        kind="echo",
        api_key="k",
        default_chat_model="echo-1",
    )
    result = services.provider_test_connection(provider=provider)
    assert result.ok, result.message
    assert echo.calls == [("chat", provider.pk, "echo-1")]
