"""A new admin's first visit in a real Chromium, at desktop and phone widths: sign up, connect a provider,
create a collection and upload a file, create a bot, ask it in the playground and read its evidence, try other
settings, rate the answer, find the conversation in the inbox and its cited passage on the document page, read
the analytics, create an API key and restrict it, and see it all in the audit log. Every page gets a
screenshot, and on a phone no page scrolls sideways (tables scroll inside their card)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": (1280, 860), "mobile": (390, 844)}
HANDBOOK = """# Employee handbook

## Vacation

Employees get 25 days of paid vacation per year. Vacation requests go to the team lead.

## Office hours

The office opens at 8 am and closes at 6 pm on weekdays.
"""
QUESTION = "How many vacation days do employees get?"
# The elements that stick out on the right, for the failure message.
WIDEST = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1
).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' +
  Math.round(e.getBoundingClientRect().right))"""
REPLY = "Employees get **25 days** of paid vacation per year [1]."


@pytest.mark.parametrize("width", WIDTHS)
def test_a_new_admin_signs_up_and_reaches_every_page_with_evidence_at_each_step(
    width,
    browser,
    server,
    loopback,
    screenshot_dir: Path,
    tmp_path: Path,
):
    loopback.state.api_key = None  # the local model server takes any key
    loopback.state.reply = REPLY
    viewport_width, viewport_height = WIDTHS[width]
    context = browser.new_context(viewport={"width": viewport_width, "height": viewport_height}, locale="en-US")
    page = context.new_page()
    problems: list[str] = []  # console errors include every Content-Security-Policy refusal
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    shots = screenshot_dir / "new-admin" / width
    phone = width == "mobile"

    def look(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert sideways <= 0, f"{name} scrolls sideways by {sideways}px at {width} width: {page.evaluate(WIDEST)}"

    def go(link: str) -> None:
        """Follow a navigation entry: on a phone it sits behind the header's menu button."""
        nav = page.locator("header.top nav")
        if phone:
            assert not nav.is_visible()
            page.get_by_role("button", name="Menu").click()
        page.locator("header.top nav").get_by_role("link", name=link, exact=True).click()
        page.wait_for_load_state()

    page.goto(f"{server}/signup/")
    page.get_by_label("Your name").fill("Ada O'Brien")
    page.get_by_label("Email").fill(f"ada-{width}@example.com")
    page.get_by_label("Password").fill("a-long-and-unusual-passphrase")
    page.get_by_label("Organization name").fill("Acme & Sons")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{server}/")
    assert "Acme & Sons" in page.locator("main h1").inner_text()
    look("01-dashboard")

    go("Providers")
    page.get_by_role("link", name="Add provider").click()
    page.get_by_label("Name").fill("Local model")
    page.get_by_label("Kind").select_option(label="OpenAI-compatible server")
    page.get_by_label("Base URL").fill(loopback.openai_base_url)
    page.get_by_label("Default chat model").fill("llama-loop")
    look("02-provider-form")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Local model").first.wait_for()

    go("Documents")
    page.get_by_label("Name").fill("Handbook")
    page.get_by_role("button", name="Create collection").click()
    page.wait_for_url("**/documents/collections/**")
    handbook = tmp_path / "handbook.md"
    handbook.write_text(HANDBOOK)
    page.locator("#upload-form input[type=file]").set_input_files(str(handbook))
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator("table.documents tbody tr").first
    row.get_by_text("Ready").wait_for()
    assert "Markdown" in row.inner_text() and "text/markdown" not in row.inner_text()
    look("03-collection")

    go("Bots")
    page.get_by_role("link", name="New bot").click()
    page.get_by_label("Name", exact=True).fill("HR bot")
    page.get_by_label("Provider", exact=True).select_option(label="Local model")
    page.get_by_label("Handbook").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Try it").click()
    page.wait_for_url("**/chat/")

    page.get_by_label("Your question").fill(QUESTION)
    page.get_by_role("button", name="Ask").click()
    answer = page.locator("#log .turn.answer").last
    answer.locator("details.evidence").wait_for()  # the stored answer, rendered by the server
    assert answer.locator(".turn-body strong").inner_text() == "25 days"  # Markdown
    assert "answered by Local model" in answer.locator(".turn-metrics").inner_text()
    assert answer.locator("details.evidence").get_attribute("open") is not None  # a fresh answer shows it
    cited = answer.locator("table.passages tr.cited")
    assert cited.count() == 1 and "handbook" in cited.inner_text().lower()
    assert "[1]" in cited.inner_text()
    answer.get_by_role("button", name="Helpful", exact=True).click()
    page.locator('#log .turn.answer button[aria-label="Helpful"][aria-pressed="true"]').wait_for()

    page.get_by_text("Try with other settings").click()
    page.get_by_label("Passages per answer").fill("2")
    page.locator("#try-provider").select_option(label="Offline (built in)")
    page.get_by_label("Your question").fill("Who do vacation requests go to?")
    page.get_by_role("button", name="Ask").click()
    page.locator("#log .turn.answer").nth(1).locator("details.evidence").wait_for()
    second = page.locator("#log .turn.answer").nth(1)
    assert "tried: provider, top_k" in second.locator(".turn-head").inner_text()
    assert "answered by Offline" in second.locator(".turn-metrics").inner_text()
    assert "team lead" in second.locator(".turn-body").inner_text()
    assert "?conversation=" in page.url  # reopening the page shows this conversation
    assert page.locator("#history-list a.active").inner_text() == QUESTION
    look("04-playground")

    go("Conversations")
    page.get_by_role("link", name=QUESTION).click()
    page.wait_for_url("**/conversations/**")
    page.locator("details.citation summary").first.click()
    assert "25 days of paid vacation" in page.locator("details.citation blockquote").first.inner_text()
    assert "▲ helpful" in page.locator(".turn.answer").first.inner_text()
    look("05-transcript")
    page.get_by_role("link", name="Open the document page").first.click()
    page.locator("#passage").wait_for()
    assert "25 days of paid vacation" in page.locator("#passage blockquote").inner_text()
    look("06-cited-passage")

    go("Analytics")
    page.wait_for_function("id => window.Chart && Chart.getChart(document.getElementById(id))", arg="chart-volume")
    assert page.locator(".stat-value").first.inner_text() == "1"  # one conversation
    look("07-analytics")

    go("API keys")
    page.get_by_label("Name").fill("CI")
    page.locator("input[name=scopes][value=chat]").check()
    page.get_by_role("button", name="Create key").click()
    assert page.locator("#new-api-key").inner_text().startswith("dk_")
    look("08-api-keys")
    page.get_by_role("link", name="CI", exact=True).click()
    page.wait_for_function("id => window.Chart && Chart.getChart(document.getElementById(id))", arg="chart-key-usage")
    page.get_by_label("Requests per day").fill("100")
    page.get_by_label("HR bot").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("CI saved.").wait_for()
    assert page.get_by_label("HR bot").is_checked()
    look("09-api-key")

    page.goto(f"{server}/settings/audit/")
    log = page.locator("table.audit").inner_text()
    for action in ("API key changed", "API key created", "Bot created", "Document added", "Provider added"):
        assert action in log, action
    assert f"ada-{width}@example.com" in log
    look("10-audit-log")

    if phone:
        page.get_by_role("button", name="Menu").click()
    page.locator("header.top a.who").click()
    page.wait_for_url("**/account/")
    assert "Acme & Sons" in page.locator("main").inner_text()
    look("11-profile")

    page.goto(f"{server}/")
    assert page.locator(".stat-value").nth(0).inner_text() == "1"  # one document
    assert page.locator(".stat-value").nth(2).inner_text() == "1"  # one conversation this week
    look("12-dashboard-with-numbers")
    context.close()
    assert not problems, problems
