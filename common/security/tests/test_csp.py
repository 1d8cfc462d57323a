"""Every page carries a strict Content-Security-Policy, and the pages still work under it: no template has an
inline script, event handler or style attribute, and the scripts pages load are our own static files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from apps.api_keys.tests.factories import APIKeyFactory
from apps.chatbot.tests.factories import ChatbotFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory
from common.security.tests.every_page import DATA_BLOCK, every_owner_page

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _assert_strict(response) -> None:
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]


def _assert_runs_under_the_policy(html: str) -> None:
    """No inline script or handler, and every script it loads is a static file we ship."""
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(re.sub(r"<script.*?</script>", "", html, flags=re.S)), html
    assert ' style="' not in html
    for source in re.findall(r'<script[^>]*\bsrc="([^"]+)"', html):
        assert source.startswith("/static/"), source
        assert finders.find(source.removeprefix("/static/")) is not None, source


def _signed_in(organization, role=Role.ADMIN) -> Client:
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


@pytest.mark.parametrize("path", ["/login/", "/signup/", "/password-reset/", "/api/v1/me", "/no-such-page/"])
def test_every_response_carries_the_policy(client, path):
    response = client.get(path)
    _assert_strict(response)
    assert _policy(response)["style-src"] == ["'self'"]


def test_the_login_page_renders_under_the_policy(client):
    response = client.get("/login/")
    assert response.status_code == 200
    _assert_strict(response)
    _assert_runs_under_the_policy(response.content.decode())
    assert 'name="password"' in response.content.decode()


def test_the_test_chat_page_loads_its_script_from_a_static_file(organization):
    bot = ChatbotFactory(organization=organization, name='Bot "</script><script>alert(1)</script>')
    response = _signed_in(organization, Role.MEMBER).get(f"/bots/{bot.id}/chat/")
    assert response.status_code == 200
    _assert_strict(response)
    html = response.content.decode()
    _assert_runs_under_the_policy(html)
    assert '<script src="/static/js/chat.js" defer></script>' in html
    assert 'data-bot-name="Bot &quot;&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html


def test_pages_with_confirmations_and_a_new_key_render_under_the_policy(organization):
    client = _signed_in(organization)
    key = APIKeyFactory(organization=organization, name="CI")
    for html in (
        client.get("/api-keys/").content.decode(),
        client.post(f"/api-keys/{key.pk}/rotate").content.decode(),
        client.get("/members/").content.decode(),
        client.get("/documents/").content.decode(),
        client.get("/").content.decode(),
    ):
        _assert_runs_under_the_policy(html)
        assert '<script src="/static/js/docent.js" defer></script>' in html


def test_no_template_needs_inline_script_or_style():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text) or re.search(r"\sstyle=", text):
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_reference_pages_keep_scripts_to_our_own_files(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy["style-src"]  # Swagger UI and ReDoc style their own elements
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html)
    assert "fonts.googleapis.com" not in html


def test_the_swagger_ui_set_up_is_served_as_a_script(client):
    html = client.get("/api/docs/").content.decode()
    own = [src for src in re.findall(r'<script src="([^"]+)"', html) if not src.startswith("/static/")]
    assert len(own) == 1 and own[0].startswith("/api/docs/")
    script = client.get(own[0].replace("&amp;", "&"))
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db(transaction=True)
def test_every_page_renders_under_the_policy(django_capture_on_commit_callbacks):
    """Every page an owner can open, filled with one of everything: no inline script, handler or style."""
    pages = every_owner_page(django_capture_on_commit_callbacks)
    assert len(pages) >= 28, [path for path, _ in pages]
    for path, response in pages:
        _assert_strict(response)
        html = DATA_BLOCK.sub("", response.content.decode())
        _assert_runs_under_the_policy(html)
        assert "<style" not in html, path
        assert 'href="javascript:' not in html, path
