"""The /api-keys/ page for owners and admins."""

import re

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages

from apps.api_keys.models import APIKey
from apps.api_keys.tests.factories import APIKeyFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(client, organization):
    client.force_login(MembershipFactory(organization=organization, role=Role.ADMIN).user)
    return client


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/api-keys/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_members_cannot_open_the_page(client, organization):
    client.force_login(MembershipFactory(organization=organization, role=Role.MEMBER).user)
    assert client.get("/api-keys/").status_code == 403


def test_an_admin_sees_the_keys_without_their_secrets(admin_session, organization, other_organization):
    key = APIKeyFactory(organization=organization, name="Zapier", rate_limit_per_minute=42)
    foreign = APIKeyFactory(organization=other_organization, name="Someone else")
    page = admin_session.get("/api-keys/").content.decode()
    assert "Zapier" in page and key.display in page and "42/min" in page
    assert key.plaintext not in page
    assert "Someone else" not in page and foreign.prefix not in page


def test_the_page_shows_each_keys_recent_usage(admin_session, organization):
    from rest_framework.test import APIClient

    key = APIKeyFactory(organization=organization)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")
    client.get("/api/v1/usage")
    client.get("/api/v1/api-keys")  # refused: an error
    page = admin_session.get("/api-keys/").content.decode()
    assert "2 requests · 0 tokens · 1 errors" in page


def test_creating_a_key_shows_the_secret_once(admin_session, organization):
    response = admin_session.post("/api-keys/", {"name": "CI", "scopes": ["search", "chat"]})
    page = response.content.decode()
    shown = re.search(r'<div class="secret" id="new-api-key"[^>]*>(dk_[^<]+)</div>', page)
    assert shown, page
    assert response["Cache-Control"] == "no-store"
    key = APIKey.objects.for_org(organization).get(name="CI")
    assert key.scopes == ["chat", "search"]
    assert shown.group(1) not in admin_session.get("/api-keys/").content.decode()


def test_a_form_without_scopes_is_shown_again_with_errors(admin_session, organization):
    response = admin_session.post("/api-keys/", {"name": "CI"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not APIKey.objects.for_org(organization).exists()


def test_revoke_and_rotate_buttons_work(admin_session, organization):
    key = APIKeyFactory(organization=organization)
    rotated = admin_session.post(f"/api-keys/{key.pk}/rotate").content.decode()
    assert 'class="secret"' in rotated and key.plaintext not in rotated
    response = admin_session.post(f"/api-keys/{key.pk}/revoke")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_an_admin_cannot_revoke_another_organizations_key(admin_session, other_organization):
    foreign = APIKeyFactory(organization=other_organization)
    response = admin_session.post(f"/api-keys/{foreign.pk}/revoke")
    assert response.status_code == 302 and response["Location"] == "/api-keys/"
    errors = [str(m) for m in get_messages(response.wsgi_request) if m.level == messages.ERROR]
    assert errors == ["API key not found."]
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_rotating_and_revoking_ask_for_confirmation_first(admin_session, organization):
    APIKeyFactory(organization=organization, name="CI key")
    page = admin_session.get("/api-keys/").content.decode()
    assert 'data-confirm="Rotate CI key? Its current secret stops working at once."' in page
    assert 'data-confirm="Revoke CI key? It stops working at once."' in page


def test_the_page_showing_a_new_secret_leaves_the_post_url_so_a_reload_cannot_rotate_again(admin_session, organization):
    key = APIKeyFactory(organization=organization)
    rotated = admin_session.post(f"/api-keys/{key.pk}/rotate").content.decode()
    assert 'data-page-url="/api-keys/"' in rotated  # js/api_keys.js replaces the URL with it
    assert "js/api_keys.js" in rotated
    assert 'id="copy-api-key"' in rotated
    assert "js/api_keys.js" not in admin_session.get("/api-keys/").content.decode()


def test_a_rate_limit_too_large_to_store_is_shown_again_with_an_error(admin_session, organization):
    response = admin_session.post(
        "/api-keys/", {"name": "CI", "scopes": ["search"], "rate_limit_per_minute": "3000000000"}
    )
    assert response.status_code == 200
    assert "rate_limit_per_minute" in response.context["form"].errors
    assert not APIKey.objects.for_org(organization).exists()


def test_an_admin_changes_a_keys_expiry_quotas_and_restrictions_on_its_page(admin_session, organization):
    from datetime import date, timedelta

    from apps.chatbot.tests.factories import ChatbotFactory
    from apps.documents.tests.factories import CollectionFactory

    key = APIKeyFactory(organization=organization, name="Zapier", scopes=["chat"])
    bot = ChatbotFactory(organization=organization, name="HR bot")
    collection = CollectionFactory(organization=organization, name="Handbook")
    page = admin_session.get(f"/api-keys/{key.id}/").content.decode()
    assert "Zapier" in page and "HR bot" in page and "Handbook" in page and 'id="chart-key-usage"' in page
    expiry = date.today() + timedelta(days=30)
    response = admin_session.post(
        f"/api-keys/{key.id}/",
        {
            "name": "Zapier prod",
            "scopes": ["chat", "bots:read"],
            "expires_at": expiry.isoformat(),
            "daily_request_quota": "500",
            "monthly_token_quota": "90000",
            "bot_ids": [str(bot.id)],
            "collection_ids": [str(collection.id)],
        },
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.name == "Zapier prod" and key.scopes == ["bots:read", "chat"]
    assert key.expires_at.date() == expiry
    assert (key.daily_request_quota, key.monthly_token_quota, key.rate_limit_per_minute) == (500, 90000, None)
    assert key.bot_ids == [bot.id] and key.collection_ids == [collection.id]
    cleared = admin_session.post(f"/api-keys/{key.id}/", {"name": "Zapier prod", "scopes": ["chat"]})
    assert cleared.status_code == 302
    key.refresh_from_db()
    assert key.expires_at is None and key.bot_ids == [] and key.daily_request_quota is None


def test_a_keys_page_charts_its_own_usage_only(admin_session, organization):
    from django.utils import timezone

    from apps.api_keys.tests.factories import APIKeyUsageDailyFactory

    key, other = APIKeyFactory(organization=organization), APIKeyFactory(organization=organization)
    today = timezone.now().date()
    APIKeyUsageDailyFactory(api_key=key, date=today - timezone.timedelta(days=1), requests=7, tokens=70, errors=2)
    APIKeyUsageDailyFactory(api_key=other, date=today - timezone.timedelta(days=1), requests=1000)
    page = admin_session.get(f"/api-keys/{key.id}/").content.decode()
    assert "7 requests · 70 tokens · 2 errors" in page
    assert '"requests": 7' in page and '"requests": 1000' not in page


def test_a_past_expiry_or_a_foreign_bot_is_refused_on_the_keys_page(admin_session, organization, other_organization):
    from datetime import date, timedelta

    key = APIKeyFactory(organization=organization, name="Zapier", scopes=["chat"])
    past = admin_session.post(
        f"/api-keys/{key.id}/",
        {"name": "Zapier", "scopes": ["chat"], "expires_at": (date.today() - timedelta(days=2)).isoformat()},
    )
    assert past.status_code == 200 and "The expiry must be in the future." in past.content.decode()
    foreign = APIKeyFactory(organization=other_organization)
    assert admin_session.get(f"/api-keys/{foreign.id}/").status_code == 404
