"""Bot pages: members list and try bots, admins create and edit them with collections."""

import pytest
from django.test import Client

from apps.chatbot.models import Chatbot
from apps.chatbot.tests.factories import ChatbotFactory
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _client(organization, role):
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def test_members_see_bots_and_can_try_them_but_not_edit(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot", welcome_message="Hello there")
    client = _client(organization, Role.MEMBER)
    page = client.get("/bots/")
    assert b"HR bot" in page.content
    assert f"/bots/{bot.id}/chat/".encode() in page.content
    chat = client.get(f"/bots/{bot.id}/chat/")
    assert chat.status_code == 200
    assert b"Hello there" in chat.content
    assert f"/api/v1/bots/{bot.id}/chat".encode() in chat.content
    assert client.get(f"/bots/{bot.id}/").status_code == 403


def test_admin_creates_a_bot_with_provider_collections_and_thresholds(organization):
    provider = ChatbotProviderFactory(organization=organization, name="Main")
    collection = CollectionFactory(organization=organization, name="Handbook")
    client = _client(organization, Role.ADMIN)
    form = client.get("/bots/new/")
    assert b"Handbook" in form.content and b"Main" in form.content
    response = client.post(
        "/bots/new/",
        {
            "name": "HR bot",
            "tone": "concise",
            "provider": str(provider.id),
            "collections": [str(collection.id)],
            "temperature": 0.3,
            "max_answer_tokens": 500,
            "top_k": 5,
            "min_relevance": 0.2,
            "dont_know_message": "Ask HR.",
            "suggested_questions": "How many vacation days?\nWho approves leave?",
        },
    )
    assert response.status_code == 302, response.content
    bot = Chatbot.objects.for_org(organization).get()
    assert bot.tone == "concise"
    assert bot.provider == provider
    assert list(bot.collections.all()) == [collection]
    assert bot.suggested_questions == ["How many vacation days?", "Who approves leave?"]


def test_admin_edits_a_bot_and_sees_its_publishable_key(organization):
    bot = ChatbotFactory(organization=organization, name="Old")
    client = _client(organization, Role.ADMIN)
    page = client.get(f"/bots/{bot.id}/")
    assert bot.publishable_key.encode() in page.content
    client.post(
        f"/bots/{bot.id}/",
        {
            "name": "New",
            "tone": "friendly",
            "temperature": 0.2,
            "max_answer_tokens": 700,
            "top_k": 6,
            "min_relevance": 0.1,
            "dont_know_message": "No idea.",
        },
    )
    bot.refresh_from_db()
    assert (bot.name, bot.tone) == ("New", "friendly")
