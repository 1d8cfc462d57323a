"""Bot CRUD: members read, admins write, providers must belong to the organization."""

import pytest

from apps.chatbot.models import Chatbot
from apps.chatbot.tests.factories import ChatbotFactory
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
from apps.organizations.models import AuditEvent

pytestmark = pytest.mark.django_db
URL = "/api/v1/bots"


def test_admin_creates_a_bot_with_tone_provider_and_thresholds(admin_client, organization):
    provider = ChatbotProviderFactory(organization=organization)
    response = admin_client.post(
        URL,
        {
            "name": "HR bot",
            "tone": "friendly",
            "provider": str(provider.id),
            "temperature": 0.1,
            "top_k": 4,
            "min_relevance": 0.3,
            "dont_know_message": "Ask HR directly.",
            "welcome_message": "Hi!",
            "suggested_questions": ["How many vacation days?"],
            "allowed_origins": ["https://example.com"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tone"] == "friendly"
    assert body["provider"] == str(provider.id)
    assert body["publishable_key"].startswith("pk_")
    assert body["suggested_questions"] == ["How many vacation days?"]
    assert AuditEvent.objects.unscoped().filter(organization=organization, action="bot.created").exists()


def test_members_read_bots_but_cannot_change_them(member_client, organization):
    bot = ChatbotFactory(organization=organization)
    assert member_client.get(URL).json()["results"][0]["id"] == str(bot.id)
    assert member_client.get(f"{URL}/{bot.id}").status_code == 200
    assert member_client.post(URL, {"name": "x"}, format="json").status_code == 403
    assert member_client.patch(f"{URL}/{bot.id}", {"name": "y"}, format="json").status_code == 403
    assert member_client.delete(f"{URL}/{bot.id}").status_code == 403


def test_a_provider_from_another_organization_is_refused(admin_client, other_organization):
    foreign = ChatbotProviderFactory(organization=other_organization)
    response = admin_client.post(URL, {"name": "Bot", "provider": str(foreign.id)}, format="json")
    assert response.status_code == 400
    assert "provider" in response.json()["error"]["details"]


def test_an_unknown_tone_is_refused(admin_client):
    response = admin_client.post(URL, {"name": "Bot", "tone": "sarcastic"}, format="json")
    assert response.status_code == 400
    assert "tone" in response.json()["error"]["details"]


def test_admin_changes_and_deletes_a_bot(admin_client, organization):
    bot = ChatbotFactory(organization=organization)
    response = admin_client.patch(f"{URL}/{bot.id}", {"system_prompt": "Be brief.", "top_k": 3}, format="json")
    assert response.status_code == 200
    bot.refresh_from_db()
    assert (bot.system_prompt, bot.top_k) == ("Be brief.", 3)
    assert admin_client.delete(f"{URL}/{bot.id}").status_code == 204
    assert not Chatbot.objects.for_org(organization).exists()


def test_another_organizations_bot_is_not_found(admin_client, other_organization):
    foreign = ChatbotFactory(organization=other_organization)
    assert admin_client.get(f"{URL}/{foreign.id}").status_code == 404
    assert admin_client.patch(f"{URL}/{foreign.id}", {"name": "x"}, format="json").status_code == 404
    assert admin_client.post(f"{URL}/{foreign.id}/chat", {"message": "hi"}, format="json").status_code == 404


def test_duplicate_bot_names_are_refused(admin_client, organization):
    ChatbotFactory(organization=organization, name="Same")
    response = admin_client.post(URL, {"name": "Same"}, format="json")
    assert response.status_code == 400


def test_the_bot_list_costs_the_same_queries_for_many_bots(member_client, organization, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.documents.tests.factories import CollectionFactory

    collections = [CollectionFactory(organization=organization) for _ in range(3)]
    ChatbotFactory(organization=organization).collections.set(collections[:2])
    with CaptureQueriesContext(connection) as one_bot:
        assert member_client.get(URL).status_code == 200
    for _ in range(7):
        ChatbotFactory(organization=organization).collections.set(collections)
    with django_assert_max_num_queries(len(one_bot.captured_queries)):
        body = member_client.get(URL).json()
    assert len(body["results"]) == 8
    assert sorted(len(bot["collections"]) for bot in body["results"]) == [2] + [3] * 7


def test_every_field_a_bot_can_be_given_is_shown_back(admin_client, organization):
    from apps.chatbot.services.bots import BOT_FIELDS

    body = admin_client.post(URL, {"name": "Fields bot"}, format="json").json()
    assert set(BOT_FIELDS) <= set(body)
    assert {"id", "publishable_key", "collections", "created_at", "updated_at"} <= set(body)
