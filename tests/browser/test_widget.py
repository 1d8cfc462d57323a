"""The website widget in a real Chromium: a host page served from another origin embeds it with one script tag
against the running app; the bot page shows the live preview and the embed snippet. Screenshots of every
step go to var/screenshots/widget/."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.chatbot.services import bots as bot_services
from apps.documents.models import Document
from apps.documents.services.documents import collection_create, document_create_from_text
from apps.organizations.actors import Actor
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.users.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
HANDBOOK = """Employee handbook

Vacation. Employees get 25 days of paid vacation per year. Vacation requests go to the team lead.

Office hours. The office opens at 8 am and closes at 6 pm on weekdays.
"""


@pytest.fixture
def shots(screenshot_dir: Path) -> Path:
    folder = screenshot_dir / "widget"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def acme():
    organization = OrganizationFactory(name="Acme Handbooks")
    admin = UserFactory(email="admin@example.com")
    MembershipFactory(organization=organization, user=admin, role=Role.ADMIN)
    actor = Actor.for_user(admin).in_organization(organization)
    collection = collection_create(organization=organization, actor=actor, name="Handbook")
    document_create_from_text(collection=collection, actor=actor, title="Employee handbook", text=HANDBOOK)
    assert Document.objects.for_org(organization).get().status == "ready"
    bot = bot_services.bot_create(
        organization=organization,
        actor=actor,
        name="HR bot",
        collections=[collection.pk],
        welcome_message="Hi! Ask me about the handbook.",
        suggested_questions=["How many vacation days do employees get?", "When does the office open?"],
    )
    return admin, bot


def sign_in(page, server: str, email: str) -> None:
    page.goto(f"{server}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/")


def watch(page) -> list[str]:
    """Console errors (every Content-Security-Policy refusal is one) and uncaught exceptions of the page."""
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_the_bot_page_previews_the_widget_live_and_offers_the_embed_snippet(browser, server, acme, shots):
    admin, bot = acme
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = watch(page)
    sign_in(page, server, admin.email)
    page.goto(f"{server}/bots/{bot.pk}/")
    snippet = page.locator("#embed-snippet")
    assert f'data-bot="{bot.publishable_key}"' in snippet.inner_text()
    assert "/widget.js" in snippet.inner_text()

    preview = page.locator("#widget-preview docent-widget")
    header = preview.locator(".head")
    header.wait_for()
    assert preview.locator("h2").inner_text() == "HR bot"
    assert "Hi! Ask me about the handbook." in preview.locator(".welcome").inner_text()
    assert preview.get_by_role("button", name="When does the office open?").is_visible()

    page.locator("#id_primary_color").fill("#0a7d4f")
    page.locator("#id_name").fill("Handbook helper")
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('#widget-preview docent-widget').shadowRoot"
        ".querySelector('.head')).backgroundColor === 'rgb(10, 125, 79)'"
    )
    assert preview.locator("h2").inner_text() == "Handbook helper"
    page.locator("#widget-preview").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "01-bot-page-preview.png"), full_page=True)
    context.close()
    assert not problems, problems
