"""CORS only on the widget's routes, and visitor tokens that cannot be taken elsewhere."""

from __future__ import annotations

import time

import jwt
import pytest
from django.test import Client

from apps.widget.services import publishable_key_rotate
from apps.widget.tests.conftest import SHOP, WidgetBrowser

pytestmark = pytest.mark.django_db


def _preflight(path: str, origin: str):
    return Client().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_a_preflight_from_an_allowed_site_is_204_with_the_allowance(shop_bot):
    response = _preflight("/widget/v1/session", SHOP)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "content-type" in response["Access-Control-Allow-Headers"]
    assert response["Access-Control-Max-Age"] == "600"
    assert "Origin" in response["Vary"]
    assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_from_another_site_gets_no_allowance(shop_bot):
    response = _preflight("/widget/v1/messages", "https://evil.example")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


def test_the_rest_of_the_api_answers_no_cors_even_to_an_allowed_site(shop_bot, member_client):
    response = Client().options("/api/v1/bots", headers={"Origin": SHOP, "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in member_client.get("/api/v1/bots", HTTP_ORIGIN=SHOP)


@pytest.fixture
def visitor(browser, shop_bot):
    browser.open(shop_bot.publishable_key)
    return browser


def test_a_token_replayed_from_another_site_is_refused(visitor, shop_bot):
    shop_bot.allowed_origins = [SHOP, "https://other-shop.example"]
    shop_bot.save()
    thief = WidgetBrowser(origin="https://other-shop.example", token=visitor.token)
    response = thief.get("/widget/v1/conversation")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert thief.send("hello").status_code == 403


def test_a_token_of_another_bot_is_wrong_bot(visitor, organization):
    from apps.chatbot.tests.factories import ChatbotFactory

    other = ChatbotFactory(organization=organization, allowed_origins=[SHOP])
    response = visitor.client.get(
        "/widget/v1/conversation", headers={**visitor.headers(), "X-Docent-Key": other.publishable_key}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_bot"


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "eyJhbGciOiJIUzI1NiJ9.e30.forged"],
    ids=["missing", "garbage", "forged"],
)
def test_a_missing_or_forged_token_is_401_invalid_visitor_token(shop_bot, token):
    response = WidgetBrowser(token=token).get("/widget/v1/conversation")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_visitor_token"


def test_a_token_signed_with_another_key_is_refused(visitor):
    claims = jwt.decode(visitor.token, options={"verify_signature": False})
    forged = jwt.encode(claims, "a-key-that-is-not-ours-but-long-enough-0123456789", algorithm="HS256")
    response = WidgetBrowser(token=forged).get("/widget/v1/conversation")
    assert response.json()["error"]["code"] == "invalid_visitor_token"


def test_an_expired_token_is_401_visitor_token_expired(shop_bot, settings):
    settings.WIDGET_VISITOR_TOKEN_SECONDS = -1
    expired = WidgetBrowser()
    expired.open(shop_bot.publishable_key)
    response = expired.get("/widget/v1/conversation")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "visitor_token_expired"


def test_rotating_the_publishable_key_ends_the_old_key_and_its_tokens(visitor, shop_bot, admin_actor):
    old_key = shop_bot.publishable_key
    publishable_key_rotate(actor=admin_actor, bot=shop_bot)
    assert visitor.get("/widget/v1/conversation").json()["error"]["code"] == "invalid_visitor_token"
    assert WidgetBrowser().open(old_key).json()["error"]["code"] == "unknown_bot"
    assert WidgetBrowser().open(shop_bot.publishable_key).status_code == 200


def test_an_admin_rotates_the_keys_through_the_api_and_a_member_cannot(shop_bot, admin_client, member_client):
    url = f"/api/v1/bots/{shop_bot.pk}/widget"
    assert member_client.post(f"{url}/publishable-key").status_code == 403
    key = admin_client.post(f"{url}/publishable-key").json()["publishable_key"]
    assert key.startswith("pk_") and key != shop_bot.publishable_key
    secret = admin_client.post(f"{url}/identity-secret").json()["identity_secret"]
    assert secret.startswith("wis_")
    assert admin_client.get(f"/api/v1/bots/{shop_bot.pk}").json()["identity_secret_set"] is True
    assert secret not in admin_client.get(f"/api/v1/bots/{shop_bot.pk}").content.decode()


def test_widget_js_is_served_as_cacheable_javascript_without_cookies(settings, tmp_path):
    script = tmp_path / "widget.js"
    script.write_text("console.log('docent');\n")
    settings.WIDGET_SCRIPT_PATH = script
    response = Client().get("/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response.content == b"console.log('docent');\n"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert not response.cookies
    again = Client().get("/widget.js", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_token_lifetime_is_what_the_session_says(visitor):
    claims = jwt.decode(visitor.token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == visitor.session["expires_in"] == 900
    assert claims["exp"] > time.time()
