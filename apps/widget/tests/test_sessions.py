"""Opening a widget session: the key, the page's origin, the resume secret and the customer-signed identity."""

from __future__ import annotations

import pytest

from apps.chatbot.models import Message
from apps.widget.models import Visitor
from apps.widget.services import identity_secret_rotate
from apps.widget.tests.conftest import SHOP, WidgetBrowser, identity_token

pytestmark = pytest.mark.django_db


def test_an_allowed_site_opens_a_session_and_gets_the_bots_look(browser, shop_bot):
    response = browser.open(shop_bot.publishable_key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expires_in"] == 900
    assert body["visitor"]["verified"] is False
    assert body["visitor"]["resume"].startswith("wr_")
    assert body["bot"] == {
        "name": "Shop helper",
        "avatar_url": None,
        "welcome_message": "Hi! Ask me about returns and shipping.",
        "suggested_questions": ["How do returns work?"],
        "theme": {},
        "handoff_enabled": True,
    }
    assert body["conversation"] is None
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert not response.cookies


@pytest.mark.parametrize("origin", ["https://evil.example", "http://shop.example", "null", ""])
def test_another_site_is_refused_with_origin_not_allowed(shop_bot, origin):
    response = WidgetBrowser(origin=origin).open(shop_bot.publishable_key)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert not Visitor.objects.unscoped().exists()


def test_a_bot_with_no_allowed_origins_refuses_every_site_until_any_origin_is_chosen(shop_bot):
    shop_bot.allowed_origins = []
    shop_bot.save()
    assert WidgetBrowser().open(shop_bot.publishable_key).status_code == 403
    shop_bot.allow_any_origin = True
    shop_bot.save()
    assert WidgetBrowser(origin="https://anywhere.example").open(shop_bot.publishable_key).status_code == 200


def test_an_unknown_key_is_404_unknown_bot(browser, shop_bot):
    response = browser.open("pk_nothing_like_this")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_bot"


def test_the_resume_secret_brings_back_the_visitor_and_their_conversation(browser, shop_bot):
    browser.open(shop_bot.publishable_key)
    browser.send("How long do I have to return an item?")
    resume = browser.session["visitor"]["resume"]
    later = WidgetBrowser()
    body = later.open(shop_bot.publishable_key, resume=resume).json()
    assert body["visitor"]["id"] == browser.session["visitor"]["id"]
    assert body["visitor"]["resume"] == resume
    assert body["conversation"]["last_seq"] == 2
    history = later.get("/widget/v1/conversation").json()
    assert [m["role"] for m in history["messages"]] == ["visitor", "bot"]


def test_a_wrong_resume_secret_is_a_new_visitor_not_an_error(browser, shop_bot):
    body = browser.open(shop_bot.publishable_key, resume="wr_guessed").json()
    assert body["conversation"] is None
    assert Visitor.objects.unscoped().count() == 1


# ------------------------------------------------------------------------------------------ identity


@pytest.fixture
def secret(shop_bot, admin_actor):
    return identity_secret_rotate(actor=admin_actor, bot=shop_bot)


def test_a_verified_visitor_resumes_their_conversation_on_another_device(shop_bot, secret):
    laptop = WidgetBrowser()
    assert laptop.open(shop_bot.publishable_key, identity=identity_token(secret, name="Ada")).status_code == 200
    assert laptop.session["visitor"]["verified"] is True
    laptop.send("Do you ship express?")
    phone = WidgetBrowser()
    body = phone.open(shop_bot.publishable_key, identity=identity_token(secret)).json()
    assert body["visitor"]["id"] == laptop.session["visitor"]["id"]
    assert body["conversation"]["last_seq"] == 2
    texts = [m["text"] for m in phone.get("/widget/v1/conversation").json()["messages"]]
    assert texts[0] == "Do you ship express?"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda secret: identity_token("wis_not-the-secret-of-this-bot-at-all-0123"), "not valid"),
        (lambda secret: identity_token(secret, lifetime=-60), "expired"),
        (lambda secret: identity_token(secret, lifetime=3600), "at most 600 seconds"),
        (lambda secret: identity_token(secret, aud="pk_another_bot"), "another bot"),
        (lambda secret: "not.a.jwt", "not valid"),
    ],
    ids=["forged", "expired", "too-long-lived", "other-bot", "garbage"],
)
def test_a_bad_identity_is_401_invalid_identity(shop_bot, secret, make, message):
    response = WidgetBrowser().open(shop_bot.publishable_key, identity=make(secret))
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_identity"
    assert message in error["message"]
    assert not Visitor.objects.unscoped().exists()


def test_an_identity_signed_with_the_secret_before_rotation_is_refused(shop_bot, secret, admin_actor):
    old = identity_token(secret)
    identity_secret_rotate(actor=admin_actor, bot=shop_bot)
    assert WidgetBrowser().open(shop_bot.publishable_key, identity=old).json()["error"]["code"] == "invalid_identity"


def test_a_single_use_identity_cannot_be_replayed(shop_bot, secret):
    token = identity_token(secret, jti="once")
    assert WidgetBrowser().open(shop_bot.publishable_key, identity=token).status_code == 200
    again = WidgetBrowser().open(shop_bot.publishable_key, identity=token)
    assert again.status_code == 401
    assert "already used" in again.json()["error"]["message"]


def test_a_bot_requiring_identity_refuses_anonymous_visitors(shop_bot, secret):
    shop_bot.require_identity = True
    shop_bot.save()
    response = WidgetBrowser().open(shop_bot.publishable_key)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "identity_required"
    assert WidgetBrowser().open(shop_bot.publishable_key, identity=identity_token(secret)).status_code == 200


def test_a_verified_visitors_resume_secret_alone_does_not_claim_their_identity(shop_bot, secret):
    verified = WidgetBrowser()
    verified.open(shop_bot.publishable_key, identity=identity_token(secret))
    verified.send("Where is my order?")
    stranger = WidgetBrowser()
    body = stranger.open(shop_bot.publishable_key, resume=verified.session["visitor"]["resume"]).json()
    assert body["visitor"]["verified"] is False
    assert body["visitor"]["id"] != verified.session["visitor"]["id"]
    assert body["conversation"] is None


def test_a_visitor_who_signs_in_keeps_the_conversation_they_started_anonymously(shop_bot, secret):
    browser = WidgetBrowser()
    browser.open(shop_bot.publishable_key)
    browser.send("Can I return a gift?")
    anonymous_id = browser.session["visitor"]["id"]
    signed_in = browser.open(
        shop_bot.publishable_key, resume=browser.session["visitor"]["resume"], identity=identity_token(secret)
    ).json()
    assert signed_in["visitor"]["verified"] is True
    assert signed_in["conversation"]["last_seq"] == 2
    assert not Visitor.objects.unscoped().filter(public_id=anonymous_id).exists()
    phone = WidgetBrowser()
    phone.open(shop_bot.publishable_key, identity=identity_token(secret))
    messages = phone.get("/widget/v1/conversation").json()["messages"]
    assert messages[0]["text"] == "Can I return a gift?"
    assert Message.objects.unscoped().filter(sender_visitor_id=anonymous_id).count() == 0
