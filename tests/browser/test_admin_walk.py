"""An admin's walk through the web UI in a real Chromium: sign in, a bot answers in the test chat, the
conversation appears in the inbox, its transcript shows a citation's passage, the analytics page draws its
charts, and the inbox exports CSV; at desktop and phone widths, with a screenshot of every page."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.chatbot.models import Conversation, Feedback, Message
from apps.chatbot.tests.factories import ConversationFactory, MessageFactory
from tests.browser.conftest import handbook_bot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION = "How many vacation days do employees get?"
# A week of earlier conversations, so that the charts and tables have something to draw:
# (days ago, question, answer status, first token ms, feedback)
HISTORY = [
    (6, "When does the office open?", Message.Status.COMPLETE, 180, "up"),
    (6, "How do I reset my VPN password?", Message.Status.DONT_KNOW, 150, ""),
    (5, "Who approves vacation requests?", Message.Status.COMPLETE, 220, "up"),
    (4, "reset vpn password how", Message.Status.DONT_KNOW, 140, "down"),
    (4, "When does the office close?", Message.Status.COMPLETE, 260, ""),
    (3, "Can I bring my dog to the office?", Message.Status.DONT_KNOW, 130, ""),
    (2, "Do unused vacation days carry over?", Message.Status.COMPLETE, 310, "down"),
    (2, "How do I reset my vpn passwords?", Message.Status.DONT_KNOW, 160, ""),
    (1, "Where do vacation requests go?", Message.Status.FAILED, None, ""),
    (1, "When does the office open on Fridays?", Message.Status.COMPLETE, 200, "up"),
]
WIDTHS = {"desktop": (1280, 860), "mobile": (390, 844)}
CHARTS = ["chart-volume", "chart-answers", "chart-feedback", "chart-latency", "chart-tokens", "chart-api-usage"]


@pytest.fixture
def admin_with_a_bot():
    admin, bot = handbook_bot(welcome_message="Hi!")
    organization = bot.organization
    for days_ago, question, status, ttft, rating in HISTORY:
        at = timezone.now() - timedelta(days=days_ago)
        conversation = ConversationFactory(bot=bot, title=question, source=Conversation.Source.WIDGET)
        MessageFactory(conversation=conversation, role=Message.Role.USER, content=question)
        answer = MessageFactory(
            conversation=conversation,
            status=status,
            content="Answer." if status == Message.Status.COMPLETE else "",
            provider_name="Offline",
            prompt_tokens=250,
            completion_tokens=40,
            ttft_ms=ttft,
            total_ms=ttft * 4 if ttft else None,
        )
        if rating:
            Feedback.objects.create(organization=organization, message=answer, rating=rating)
        Conversation.objects.for_org(organization).filter(pk=conversation.pk).update(created_at=at, last_message_at=at)
        Message.objects.for_org(organization).filter(conversation=conversation).update(created_at=at)
        Feedback.objects.for_org(organization).filter(message=answer).update(created_at=at)
    return admin, bot


@pytest.mark.parametrize("width", WIDTHS)
def test_an_admin_walks_from_the_test_chat_to_the_inbox_analytics_and_export(
    width, browser, server, admin_with_a_bot, screenshot_dir: Path
):
    admin, bot = admin_with_a_bot
    viewport_width, viewport_height = WIDTHS[width]
    context = browser.new_context(
        viewport={"width": viewport_width, "height": viewport_height}, accept_downloads=True, locale="en-US"
    )
    page = context.new_page()
    problems: list[str] = []  # console errors include every Content-Security-Policy refusal
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    shots = screenshot_dir / width

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    sign_in(page, server, admin.email)
    shot("01-dashboard")

    page.goto(f"{server}/bots/{bot.pk}/chat/")
    page.locator("#message").fill(QUESTION)
    page.locator("#ask-button").click()
    citation = page.locator("#log .turn.answer details.citation summary").first
    citation.wait_for()
    assert "Employee handbook" in citation.inner_text()
    assert "25" in page.locator("#log").inner_text()
    shot("02-test-chat")

    page.goto(f"{server}/conversations/")
    row = page.get_by_role("link", name=QUESTION)
    row.wait_for()
    shot("03-inbox")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"conversations-\d{8}-\d{4}\.csv", download.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(HISTORY) + 1
    assert rows[0]["first_question"] == QUESTION  # the most recent first
    assert rows[0]["bot"] == "HR bot" and rows[0]["source"] == "web"

    row.click()
    page.wait_for_url(re.compile(r".*/conversations/[0-9a-f-]{36}/.*"))
    passage = page.locator("details.citation blockquote").first
    assert not passage.is_visible()
    page.locator("details.citation summary").first.click()
    assert "25 days of paid vacation" in passage.inner_text()
    link = page.locator("details.citation a").first
    assert "/documents/" in (link.get_attribute("href") or "")
    assert "tokens" in page.locator(".turn.answer .turn-metrics").inner_text()
    shot("04-transcript")

    page.goto(f"{server}/analytics/?days=7")
    for chart in CHARTS:
        page.wait_for_function("id => window.Chart && Chart.getChart(document.getElementById(id))", arg=chart)
    assert page.locator(".stat-value").first.inner_text() == str(len(HISTORY) + 1)  # conversations
    assert "HR bot" in page.locator("table.figures").first.inner_text()
    most_missed = page.locator("table.figures").nth(1).locator("tbody tr").first
    assert "vpn password" in most_missed.inner_text().lower()
    assert most_missed.locator("td").nth(1).inner_text() == "3"  # three rewordings, one question
    width_ok = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert width_ok, "the analytics page scrolls sideways"
    shot("05-analytics")

    context.close()
    assert not problems, problems
