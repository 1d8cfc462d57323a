"""Provider API: admins only, the key is write-only and encrypted, test-connection speaks plainly."""

import pytest
from django.db import connection

from apps.chatbot_provider.models import ChatbotProvider
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
from apps.chatbot_provider.tests.loopback import Behaviour
from apps.organizations.models import AuditEvent

pytestmark = pytest.mark.django_db
URL = "/api/v1/providers"


def test_admin_adds_an_openai_provider_and_the_key_is_never_returned(admin_client, organization):
    response = admin_client.post(
        URL,
        {"name": "OpenAI", "kind": "openai", "api_key": "sk-secret-abcdefgh1234", "default_chat_model": "gpt-x"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert "api_key" not in body
    assert body["has_api_key"] is True
    assert body["api_key_hint"] == "…1234"
    assert b"sk-secret-abcdefgh1234" not in response.content
    provider = ChatbotProvider.objects.for_org(organization).get()
    assert provider.api_key == "sk-secret-abcdefgh1234"
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM chatbot_provider_chatbotprovider WHERE id = %s", [provider.id])
        stored = cursor.fetchone()[0]
    assert "sk-secret" not in stored
    event = AuditEvent.objects.unscoped().get(organization=organization, action="provider.created")
    assert "sk-secret" not in str(event.data)


def test_listing_and_detail_show_only_a_masked_hint(admin_client, organization):
    ChatbotProviderFactory(organization=organization, kind="openai", api_key="sk-live-0000-9999")
    listing = admin_client.get(URL)
    assert listing.status_code == 200
    assert b"sk-live" not in listing.content
    assert listing.json()["results"][0]["api_key_hint"] == "…9999"


def test_updating_without_a_key_keeps_the_stored_key(admin_client, organization):
    provider = ChatbotProviderFactory(organization=organization, kind="openai", api_key="sk-keep-me-please")
    response = admin_client.patch(f"{URL}/{provider.id}", {"api_key": "", "name": "Renamed"}, format="json")
    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.api_key == "sk-keep-me-please"
    assert provider.name == "Renamed"


def test_an_openai_compatible_provider_needs_a_base_url(admin_client):
    response = admin_client.post(URL, {"name": "Local", "kind": "openai_compatible"}, format="json")
    assert response.status_code == 400
    assert "base_url" in response.json()["error"]["details"]


def test_duplicate_names_are_refused(admin_client, organization):
    ChatbotProviderFactory(organization=organization, name="Same")
    response = admin_client.post(URL, {"name": "Same", "kind": "offline"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]


def test_members_cannot_see_providers(member_client, organization):
    ChatbotProviderFactory(organization=organization)
    assert member_client.get(URL).status_code == 403


def test_another_organizations_provider_is_not_found(admin_client, other_organization):
    foreign = ChatbotProviderFactory(organization=other_organization)
    assert admin_client.get(f"{URL}/{foreign.id}").status_code == 404
    assert admin_client.post(f"{URL}/{foreign.id}/test").status_code == 404
    assert admin_client.delete(f"{URL}/{foreign.id}").status_code == 404
    assert ChatbotProvider.objects.for_org(other_organization).filter(pk=foreign.pk).exists()


def test_admin_deletes_a_provider(admin_client, organization):
    provider = ChatbotProviderFactory(organization=organization)
    assert admin_client.delete(f"{URL}/{provider.id}").status_code == 204
    assert not ChatbotProvider.objects.for_org(organization).exists()


def test_test_connection_reports_success(admin_client, openai_provider):
    response = admin_client.post(f"{URL}/{openai_provider.id}/test")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert "gpt-loop" in body["message"]


def test_test_connection_reports_a_wrong_key_in_plain_words(admin_client, openai_provider, loopback):
    loopback.state.api_key = "a-different-key"
    body = admin_client.post(f"{URL}/{openai_provider.id}/test").json()
    assert body["ok"] is False
    assert body["error_code"] == "provider_authentication_failed"
    assert "rejected the API key" in body["message"]


def test_test_connection_reports_an_unreachable_server(admin_client, organization):
    provider = ChatbotProviderFactory(
        organization=organization,
        kind="openai_compatible",
        base_url="http://127.0.0.1:9/v1",
        default_chat_model="m",
        max_retries=0,
        timeout_seconds=2,
    )
    body = admin_client.post(f"{URL}/{provider.id}/test").json()
    assert body["ok"] is False
    assert body["error_code"] == "provider_unavailable"
    assert "Could not reach" in body["message"]


def test_test_connection_of_gemini_reports_server_errors(admin_client, gemini_provider, loopback):
    gemini_provider.max_retries = 0
    gemini_provider.save()
    loopback.state.default = Behaviour(status=503, error_message="The model is overloaded.")
    body = admin_client.post(f"{URL}/{gemini_provider.id}/test").json()
    assert body["ok"] is False
    assert "overloaded" in body["message"]


def test_a_provider_a_bot_uses_cannot_be_deleted(admin_client, organization):
    from apps.chatbot.tests.factories import ChatbotFactory

    provider = ChatbotProviderFactory(organization=organization)
    ChatbotFactory(organization=organization, provider=provider)
    response = admin_client.delete(f"{URL}/{provider.id}")
    assert response.status_code == 409
    assert "Bots still answer" in response.json()["error"]["message"]
    assert ChatbotProvider.objects.for_org(organization).filter(pk=provider.pk).exists()


def test_a_provider_without_a_base_url_shows_null_not_an_empty_uri(admin_client, organization):
    provider = ChatbotProviderFactory(organization=organization, base_url="")
    assert admin_client.get(f"{URL}/{provider.id}").json()["base_url"] is None
    listed = admin_client.get(URL).json()["results"]
    assert [p["base_url"] for p in listed] == [None]


def test_a_null_base_url_is_accepted_as_no_base_url(admin_client, organization):
    provider = ChatbotProviderFactory(
        organization=organization, kind="openai", api_key="sk-test-1234", base_url="https://127.0.0.1/v1"
    )
    response = admin_client.patch(f"{URL}/{provider.id}", {"base_url": None}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["base_url"] is None
    provider.refresh_from_db()
    assert provider.base_url == ""
