"""The bot page's website widget section: the embed snippet with the bot's publishable key, the live preview
wired without inline script, and the widget settings form (origins, theme, handoff, budgets)."""

import pytest
from django.test import Client

from apps.chatbot.models import Chatbot
from apps.chatbot.tests.factories import ChatbotFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

SETTINGS = {
    "allowed_origins": "https://www.example.com\nhttps://shop.example.com",
    "dark_mode": "dark",
    "position": "left",
    "font_family": "",
    "primary_color": "#0a7d4f",
    "header_bg": "#0a7d4f",  # left to follow the primary colour
    "header_fg": "#ffffff",
    "launcher_bg": "#222222",
    "launcher_fg": "#ffffff",
    "bubble_bot_bg": "#f1f3f7",
    "bubble_bot_fg": "#1d2330",
    "bubble_visitor_bg": "#0a7d4f",
    "bubble_visitor_fg": "#ffffff",
    "text_color": "#1d2330",
    "width": "420",
    "height": "600",
    "radius": "14",
    "handoff_enabled": "on",
    "widget_daily_message_budget": "500",
}


def _client(organization, role):
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


def test_an_admin_sees_the_embed_snippet_with_the_publishable_key_and_the_preview(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    page = _client(organization, Role.ADMIN).get(f"/bots/{bot.pk}/").content.decode()
    assert f'&lt;script src="http://testserver/widget.js" data-bot="{bot.publishable_key}" async&gt;' in page
    assert 'id="widget-preview"' in page
    assert f'data-bot="{bot.publishable_key}" data-preview data-container="#widget-preview"' in page
    assert "<script>" not in page and " style=" not in page  # the Content-Security-Policy allows neither


def test_a_new_bot_has_no_widget_section_yet(organization):
    page = _client(organization, Role.ADMIN).get("/bots/new/").content.decode()
    assert "embed-snippet" not in page


def test_an_admin_saves_where_the_widget_may_run_and_its_theme(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    response = _client(organization, Role.ADMIN).post(f"/bots/{bot.pk}/widget/", SETTINGS)
    assert response.status_code == 302 and response["Location"] == f"/bots/{bot.pk}/"
    bot = Chatbot.objects.for_org(organization).get(pk=bot.pk)
    assert bot.allowed_origins == ["https://www.example.com", "https://shop.example.com"]
    # Only what differs from the defaults is kept: the header still follows the primary colour.
    assert bot.widget_theme == {
        "primary_color": "#0a7d4f",
        "launcher_bg": "#222222",
        "width": 420,
        "dark_mode": "dark",
        "position": "left",
    }
    assert bot.handoff_enabled is True and bot.allow_any_origin is False
    assert bot.widget_daily_message_budget == 500 and bot.widget_daily_token_budget is None


def test_the_widget_form_shows_the_saved_theme(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot", widget_theme={"primary_color": "#0a7d4f"})
    page = _client(organization, Role.ADMIN).get(f"/bots/{bot.pk}/").content.decode()
    assert 'name="primary_color" value="#0a7d4f"' in page
    assert 'name="header_bg" value="#0a7d4f"' in page  # follows the primary colour
    assert 'name="header_fg" value="#ffffff"' in page


def test_a_colour_that_is_not_a_colour_is_refused_on_the_form(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot", allowed_origins=["https://a.example"])
    response = _client(organization, Role.ADMIN).post(
        f"/bots/{bot.pk}/widget/", {**SETTINGS, "primary_color": "red;}body{display:none"}
    )
    assert response.status_code == 200
    assert "Enter a valid value." in response.content.decode()
    assert Chatbot.objects.for_org(organization).get(pk=bot.pk).allowed_origins == ["https://a.example"]


def test_a_member_cannot_change_the_widget_settings(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    response = _client(organization, Role.MEMBER).post(f"/bots/{bot.pk}/widget/", SETTINGS)
    assert response.status_code == 403
    assert Chatbot.objects.for_org(organization).get(pk=bot.pk).allowed_origins == []


def test_the_bot_page_offers_an_identity_secret_and_never_shows_it_again(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    client = _client(organization, Role.ADMIN)
    assert "Create an identity secret" in client.get(f"/bots/{bot.pk}/").content.decode()
    client.post(f"/bots/{bot.pk}/widget/identity-secret/")
    secret = Chatbot.objects.for_org(organization).get(pk=bot.pk).identity_secret
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    assert secret not in page
    assert "New identity secret" in page and "set (shown only when it was made)" in page


def test_after_a_new_publishable_key_the_snippet_and_preview_carry_it(organization):
    bot = ChatbotFactory(organization=organization, name="HR bot")
    client = _client(organization, Role.ADMIN)
    client.post(f"/bots/{bot.pk}/widget/publishable-key/")
    new = Chatbot.objects.for_org(organization).get(pk=bot.pk).publishable_key
    page = client.get(f"/bots/{bot.pk}/").content.decode()
    assert page.count(f'data-bot="{new}"') == 2 and bot.publishable_key not in page
