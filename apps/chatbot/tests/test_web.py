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
    assert f'data-ask-url="/bots/{bot.id}/chat/ask/"'.encode() in chat.content
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


def test_the_bot_form_explains_its_settings_in_plain_words(organization):
    page = _client(organization, Role.ADMIN).get("/bots/new/").content.decode()
    assert "Answer when nothing is found" in page and "Dont know message" not in page
    assert "Passages per answer" in page and "Minimum relevance" in page
    assert "No collections yet" in page and 'href="/documents/"' in page


def test_a_service_error_without_field_details_is_still_shown_on_the_form(organization, monkeypatch):
    from apps.chatbot.services import bots as bot_services
    from common.core.errors import DomainError

    def refuse(**_kwargs):
        raise DomainError("Bots are paused for this organization.")

    monkeypatch.setattr(bot_services, "bot_create", refuse)
    response = _client(organization, Role.ADMIN).post(
        "/bots/new/",
        {
            "name": "Kept",
            "tone": "professional",
            "temperature": "0.2",
            "max_answer_tokens": "700",
            "top_k": "6",
            "min_relevance": "0.1",
            "dont_know_message": "Sorry.",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bots are paused for this organization." in page
    assert 'value="Kept"' in page  # the input is not lost


def test_the_test_chat_page_offers_a_way_back_and_says_it_needs_javascript(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    page = _client(organization, Role.MEMBER).get(f"/bots/{bot.id}/chat/").content.decode()
    assert 'href="/bots/"' in page
    assert "<noscript>" in page


def test_an_empty_bot_list_tells_admins_how_to_start(organization):
    admin_page = _client(organization, Role.ADMIN).get("/bots/").content.decode()
    assert "Create your first bot" in admin_page
    member_page = _client(organization, Role.MEMBER).get("/bots/").content.decode()
    assert "Ask an admin" in member_page and "/bots/new/" not in member_page


def test_the_bot_edit_page_links_to_its_test_chat(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    page = _client(organization, Role.ADMIN).get(f"/bots/{bot.id}/").content.decode()
    assert f'href="/bots/{bot.id}/chat/">Try it</a>' in page
