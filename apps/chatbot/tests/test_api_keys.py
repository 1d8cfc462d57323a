"""API keys: scopes and bot restrictions apply to bots, chat and conversations."""

import pytest

from apps.chatbot.models import Conversation
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_a_key_with_the_chat_scope_asks_a_bot(make_api_key_client, organization):
    bot = ChatbotFactory(organization=organization)
    client = make_api_key_client(organization, scopes=["chat"])
    response = client.post(f"/api/v1/bots/{bot.id}/chat", {"message": "Anything about vacation?"}, format="json")
    assert response.status_code == 200, response.content
    conversation = Conversation.objects.unscoped().get(pk=response.json()["conversation_id"])
    assert conversation.source == "api"
    assert conversation.user is None


def test_a_key_without_the_chat_scope_is_refused(make_api_key_client, organization):
    bot = ChatbotFactory(organization=organization)
    client = make_api_key_client(organization, scopes=["bots:read"])
    response = client.post(f"/api/v1/bots/{bot.id}/chat", {"message": "hi"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["details"]["missing_scope"] == "chat"


def test_a_key_restricted_to_one_bot_sees_and_asks_only_that_bot(make_api_key_client, organization):
    allowed, other = ChatbotFactory(organization=organization), ChatbotFactory(organization=organization)
    ConversationFactory(bot=other)
    mine = ConversationFactory(bot=allowed)
    client = make_api_key_client(organization, bot_ids=[allowed.id])
    assert [b["id"] for b in client.get("/api/v1/bots").json()["results"]] == [str(allowed.id)]
    assert client.post(f"/api/v1/bots/{other.id}/chat", {"message": "hi"}, format="json").status_code == 403
    assert [c["id"] for c in client.get("/api/v1/conversations").json()["results"]] == [str(mine.id)]
    foreign_answer = MessageFactory(conversation=ConversationFactory(bot=other))
    response = client.post(f"/api/v1/messages/{foreign_answer.id}/feedback", {"rating": "up"}, format="json")
    assert response.status_code == 403


def test_keys_cannot_manage_providers(api_key_client):
    response = api_key_client.get("/api/v1/providers")
    assert response.status_code == 403
    assert response.json()["error"]["details"]["reason"] == "api_key_not_allowed"


@pytest.fixture
def handbook_passages(monkeypatch):
    from apps.chatbot.tests.conftest import HANDBOOK

    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))


def test_a_keys_answers_are_metered_and_its_token_quota_refuses_the_next_question(
    make_api_key_client, organization, handbook_passages
):
    from django.utils import timezone

    from apps.api_keys import limits
    from apps.api_keys.validators import authenticate_key

    bot = ChatbotFactory(organization=organization)
    client = make_api_key_client(organization, scopes=["chat"], daily_token_quota=1)
    first = client.post(f"/api/v1/bots/{bot.id}/chat", {"message": "How many vacation days?"}, format="json")
    assert first.status_code == 200, first.content
    usage = first.json()["usage"]
    spent = usage["prompt_tokens"] + usage["completion_tokens"]
    assert spent > 0
    principal = authenticate_key(client.api_key.plaintext, now=timezone.now())
    daily_used = limits.token_usage(principal, now=timezone.now())[0]
    assert daily_used == spent

    second = client.post(f"/api/v1/bots/{bot.id}/chat", {"message": "And the office hours?"}, format="json")
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "quota_exceeded"
    assert Conversation.objects.unscoped().filter(bot=bot).count() == 1  # the refused question opened nothing
