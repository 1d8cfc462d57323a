"""The widget's limits: per-visitor and per-IP rates and each bot's daily budgets, as structured 429s that
store nothing; widget answers metered to the organization."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.api_keys.limits import organization_token_usage
from apps.chatbot.models import Message
from apps.widget.tests.conftest import WidgetBrowser

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    settings.WIDGET_RATES = {**settings.WIDGET_RATES}
    return settings.WIDGET_RATES


def _assert_429(response, code, **details):
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["details"]["retry_after"], int) and error["details"]["retry_after"] >= 1
    assert response["Retry-After"] == str(error["details"]["retry_after"])
    for key, value in details.items():
        assert error["details"][key] == value
    assert error["message"]


def test_a_visitor_sending_too_fast_gets_a_structured_429_and_nothing_is_stored(rates, browser, shop_bot):
    rates["message_visitor"] = "2/min"
    browser.open(shop_bot.publishable_key)
    assert browser.send("How do returns work?").status_code == 200
    assert browser.send("And shipping?").status_code == 200
    stored = Message.objects.unscoped().count()
    _assert_429(browser.send("And express?"), "rate_limited", limit="visitor")
    assert Message.objects.unscoped().count() == stored


def test_many_visitors_from_one_address_share_its_rate(rates, shop_bot):
    rates["message_ip"] = "2/min"
    for _ in range(2):
        one = WidgetBrowser()
        one.open(shop_bot.publishable_key)
        assert one.send("How do returns work?").status_code == 200
    last = WidgetBrowser()
    last.open(shop_bot.publishable_key)
    _assert_429(last.send("How do returns work?"), "rate_limited", limit="ip")


def test_opening_sessions_in_a_flood_is_limited_per_address(rates, shop_bot):
    rates["session_ip"] = "3/min"
    for _ in range(3):
        assert WidgetBrowser().open(shop_bot.publishable_key).status_code == 200
    _assert_429(WidgetBrowser().open(shop_bot.publishable_key), "rate_limited", limit="ip")


def test_the_bots_daily_message_budget_ends_answers_for_the_day(browser, shop_bot):
    shop_bot.widget_daily_message_budget = 1
    shop_bot.save()
    browser.open(shop_bot.publishable_key)
    assert browser.send("How do returns work?").status_code == 200
    _assert_429(browser.send("And shipping?"), "budget_exhausted", budget="messages")
    assert Message.objects.unscoped().count() == 2


def test_the_bots_daily_token_budget_ends_answers_once_spent(browser, shop_bot):
    shop_bot.widget_daily_token_budget = 10
    shop_bot.save()
    browser.open(shop_bot.publishable_key)
    assert browser.send("How do returns work?").status_code == 200
    _assert_429(browser.send("And shipping?"), "budget_exhausted", budget="tokens")


def test_widget_answers_are_metered_to_the_organization_and_shown_in_usage(
    browser, shop_bot, organization, admin_client
):
    browser.open(shop_bot.publishable_key)
    browser.send("How do returns work?")
    answer = Message.objects.unscoped().get(role="assistant")
    spent = answer.prompt_tokens + answer.completion_tokens
    assert spent > 0
    day, _month = organization_token_usage(organization.pk, now=timezone.now())
    assert day == spent
    usage = admin_client.get(f"/api/v1/bots/{shop_bot.pk}/widget/usage").json()
    assert usage == {"messages": 1, "tokens": spent, "message_budget": 2000, "token_budget": 2_000_000}


def test_widget_conversations_count_in_the_organizations_analytics(browser, shop_bot, admin_client):
    browser.open(shop_bot.publishable_key)
    browser.send("How do returns work?")
    summary = admin_client.get("/api/v1/analytics/summary").json()
    figures = summary.get("summary", summary)
    assert (figures["questions"], figures["answered"], figures["conversations"]) == (1, 1, 1), summary
