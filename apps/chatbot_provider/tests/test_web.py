"""Provider pages: admins only, the key never rendered, test-connection result shown."""

import pytest
from django.test import Client

from apps.chatbot_provider.models import ChatbotProvider
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _client(organization, role):
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def test_admin_sees_providers_with_a_masked_key_only(organization):
    ChatbotProviderFactory(organization=organization, name="Main", kind="openai", api_key="sk-very-secret-4321")
    page = _client(organization, Role.ADMIN).get("/providers/")
    assert page.status_code == 200
    assert b"Main" in page.content
    assert "…4321".encode() in page.content
    assert b"sk-very-secret" not in page.content


def test_the_edit_form_never_renders_the_stored_key(organization):
    provider = ChatbotProviderFactory(organization=organization, kind="openai", api_key="sk-very-secret-4321")
    page = _client(organization, Role.ADMIN).get(f"/providers/{provider.id}/")
    assert page.status_code == 200
    assert b"sk-very-secret" not in page.content


def test_admin_adds_a_provider_through_the_form(organization):
    response = _client(organization, Role.ADMIN).post(
        "/providers/new/",
        {
            "name": "Local",
            "kind": "openai_compatible",
            "base_url": "http://127.0.0.1:11434/v1",
            "default_chat_model": "llama3",
            "timeout_seconds": 30,
            "max_retries": 2,
        },
    )
    assert response.status_code == 302
    assert ChatbotProvider.objects.for_org(organization).get().name == "Local"


def test_the_form_shows_service_errors_next_to_fields(organization):
    response = _client(organization, Role.ADMIN).post(
        "/providers/new/", {"name": "Local", "kind": "openai_compatible", "timeout_seconds": 30, "max_retries": 2}
    )
    assert response.status_code == 200
    assert b"base URL" in response.content
    assert not ChatbotProvider.objects.for_org(organization).exists()


def test_members_cannot_open_provider_pages(organization):
    assert _client(organization, Role.MEMBER).get("/providers/").status_code == 403


def test_test_connection_button_reports_in_plain_words(organization, openai_provider, loopback):
    loopback.state.api_key = "other"
    client = _client(organization, Role.ADMIN)
    response = client.post(f"/providers/{openai_provider.id}/test/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"rejected the API key" in response.content


def test_the_provider_form_spells_api_key_and_base_url_properly(organization):
    page = _client(organization, Role.ADMIN).get("/providers/new/").content.decode()
    assert ">API key<" in page and ">Base URL<" in page
    assert "Api key" not in page and "Base url" not in page


def test_a_service_error_without_field_details_is_shown_on_the_provider_form(organization, monkeypatch):
    from apps.chatbot_provider import services
    from common.core.errors import DomainError

    def refuse(**_kwargs):
        raise DomainError("Providers are locked.")

    monkeypatch.setattr(services, "provider_create", refuse)
    response = _client(organization, Role.ADMIN).post(
        "/providers/new/", {"name": "Mine", "kind": "offline", "timeout_seconds": "30", "max_retries": "2"}
    )
    assert response.status_code == 200
    assert "Providers are locked." in response.content.decode()


def test_members_are_told_why_they_cannot_open_providers(organization):
    response = _client(organization, Role.MEMBER).get("/providers/")
    assert response.status_code == 403
    assert "This action needs the admin role or higher." in response.content.decode()
