"""Unit rules of the widget: origin comparison, token claims, the theme checker."""

from __future__ import annotations

import time

import jwt
import pytest

from apps.chatbot.widget_theme import widget_theme_clean
from apps.widget.errors import InvalidIdentity, InvalidVisitorToken, VisitorTokenExpired
from apps.widget.origins import origin_normalize
from apps.widget.tokens import identity_verify, visitor_token_issue, visitor_token_read
from common.core.errors import ValidationFailed

SECRET = "wis_" + "s" * 70


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Shop.Example", "https://shop.example"),
        ("https://shop.example:443/", "https://shop.example"),
        ("http://shop.example:80", "http://shop.example"),
        ("http://localhost:8001", "http://localhost:8001"),
        ("https://shop.example/some/path?q=1", "https://shop.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("null", None),
        ("", None),
        (None, None),
        ("ftp://shop.example", None),
        ("https://shop.example:99999", None),
        ("javascript:alert(1)", None),
    ],
)
def test_origins_compare_in_their_canonical_form(value, expected):
    assert origin_normalize(value) == expected


def _issue(**overrides):
    fields = {
        "bot_id": "b1",
        "organization_id": "o1",
        "visitor_id": "v_1",
        "origin": "https://shop.example",
        "publishable_key": "pk_1",
        "verified": False,
        **overrides,
    }
    return visitor_token_issue(**fields)[0]


def test_a_visitor_token_carries_its_bot_origin_and_visitor(settings):
    claims = visitor_token_read(_issue())
    assert (claims.bot_id, claims.visitor_id, claims.origin, claims.verified) == (
        "b1",
        "v_1",
        "https://shop.example",
        False,
    )


def test_a_visitor_token_altered_in_any_claim_is_invalid():
    token = _issue()
    header, _payload, signature = token.split(".")
    altered = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False}), "sub": "v_someone_else"}, "x" * 40, algorithm="HS256"
    )
    for forged in (f"{header}.{altered.split('.')[1]}.{signature}", token[:-2] + "AA", "alg.none.x"):
        with pytest.raises(InvalidVisitorToken):
            visitor_token_read(forged)


def test_an_unsigned_visitor_token_is_refused():
    claims = jwt.decode(_issue(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(InvalidVisitorToken):
        visitor_token_read(unsigned)


def test_an_expired_visitor_token_says_so(settings):
    settings.WIDGET_VISITOR_TOKEN_SECONDS = -5
    with pytest.raises(VisitorTokenExpired):
        visitor_token_read(_issue())


def _identity(**claims):
    now = int(time.time())
    return jwt.encode({"sub": "u-7", "iat": now, "exp": now + 120, **claims}, SECRET, algorithm="HS256")


def test_an_identity_gives_the_user_id_name_and_email(db):
    claims = identity_verify(
        token=_identity(name="Ada Lovelace", email="ada@example.com"), secret=SECRET, bot_id="b1", publishable_key="pk"
    )
    assert (claims.external_id, claims.name, claims.email) == ("u-7", "Ada Lovelace", "ada@example.com")


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"sub": "u-7", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),  # no iat
        jwt.encode({"sub": "u-7", "iat": int(time.time())}, SECRET, algorithm="HS256"),  # no exp
        jwt.encode({"iat": int(time.time()), "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),  # no sub
        jwt.encode({"sub": "u", "iat": int(time.time()), "exp": int(time.time()) + 60}, SECRET, algorithm="HS512"),
        jwt.encode(
            {"sub": "u", "iat": int(time.time()) + 3600, "exp": int(time.time()) + 3700}, SECRET, algorithm="HS256"
        ),  # issued in the future
    ],
    ids=["no-iat", "no-exp", "no-sub", "other-algorithm", "future-iat"],
)
def test_an_identity_missing_what_it_must_say_is_refused(db, token):
    with pytest.raises(InvalidIdentity):
        identity_verify(token=token, secret=SECRET, bot_id="b1", publishable_key="pk")


def test_a_theme_keeps_known_keys_with_safe_values():
    theme = {
        "primary_color": "#1A73E8",
        "dark_mode": "auto",
        "position": "left",
        "width": 380,
        "font_family": "Inter, sans-serif",
    }
    assert widget_theme_clean(theme) == {**theme, "primary_color": "#1a73e8"}


@pytest.mark.parametrize(
    ("theme", "key"),
    [
        ({"primary_color": "red; background: url(x)"}, "primary_color"),
        ({"width": 5000}, "width"),
        ({"width": True}, "width"),
        ({"dark_mode": "sometimes"}, "dark_mode"),
        ({"font_family": "x</style><script>"}, "font_family"),
        ({"behaviour": "evil"}, "behaviour"),
    ],
)
def test_a_theme_with_a_bad_value_names_the_key(theme, key):
    with pytest.raises(ValidationFailed) as raised:
        widget_theme_clean(theme)
    assert key in raised.value.details["widget_theme"]


@pytest.mark.django_db
def test_the_bot_api_refuses_a_bad_theme_and_keeps_a_good_one(admin_client, organization):
    from apps.chatbot.tests.factories import ChatbotFactory

    bot = ChatbotFactory(organization=organization)
    bad = admin_client.patch(f"/api/v1/bots/{bot.pk}", {"widget_theme": {"width": 9999}}, format="json")
    assert bad.status_code == 400
    assert "width" in bad.json()["error"]["details"]["widget_theme"]
    good = admin_client.patch(
        f"/api/v1/bots/{bot.pk}",
        {
            "widget_theme": {"header_bg": "#000000"},
            "handoff_enabled": True,
            "allowed_origins": ["https://shop.example"],
        },
        format="json",
    )
    assert good.status_code == 200, good.content
    assert good.json()["widget_theme"] == {"header_bg": "#000000"}
    assert good.json()["handoff_enabled"] is True
