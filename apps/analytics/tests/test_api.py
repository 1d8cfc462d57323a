"""The analytics API: admins and API keys with `analytics:read` read the figures; members and other keys cannot."""

import pytest

from apps.chatbot.models import Message
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_admin_reads_every_chart(admin_client, organization):
    conversation = ConversationFactory(bot=ChatbotFactory(organization=organization))
    MessageFactory(conversation=conversation, role=Message.Role.USER, content="Hello?")
    MessageFactory(conversation=conversation, status=Message.Status.DONT_KNOW)
    for chart in ("volume", "answers", "feedback", "latency", "tokens", "bots", "dont-know", "api-usage"):
        response = admin_client.get(f"/api/v1/analytics/{chart}")
        assert response.status_code == 200, (chart, response.content)
        assert "rows" in response.json()
    summary = admin_client.get("/api/v1/analytics/summary").json()
    assert summary["questions"] == 1 and summary["dont_know"] == 1
    assert admin_client.get("/api/v1/analytics/dont-know").json()["rows"][0]["question"] == "Hello?"


def test_members_and_keys_without_the_scope_are_refused(member_client, make_api_key_client, organization):
    assert member_client.get("/api/v1/analytics/volume").status_code == 403
    assert make_api_key_client(organization, scopes=["chat"]).get("/api/v1/analytics/volume").status_code == 403
    key = make_api_key_client(organization, scopes=["analytics:read"])
    assert key.get("/api/v1/analytics/volume?start=2026-01-01&end=2026-01-07").json()["rows"][0]["date"] == "2026-01-01"


def test_another_organizations_bot_is_not_found(admin_client, other_organization):
    bot = ChatbotFactory(organization=other_organization)
    response = admin_client.get(f"/api/v1/analytics/volume?bot={bot.pk}")
    assert response.status_code == 404


def test_a_bad_date_is_a_validation_error(admin_client):
    response = admin_client.get("/api/v1/analytics/volume?start=yesterday")
    assert response.status_code == 400
