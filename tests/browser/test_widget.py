"""The website widget in a real Chromium: a host page served from another origin embeds it with one script tag
against the running app; the bot page shows the live preview and the embed snippet. Screenshots of every
step go to var/screenshots/widget/."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.browser.conftest import handbook_bot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme outdoor gear</title><link rel="stylesheet" href="/site.css"></head>
<body><header><a href="/">Acme outdoor gear</a> <a href="/about">About us</a></header>
<main><h1>Tents, stoves and everything for the trail</h1><p>Our employees answer your questions every day.</p>
<button type="button">Add to cart</button></main>
<script src="{src}" data-bot="{key}"{extra} async></script>
</body></html>"""
# The host's own styles reach every element they can, loudly: none of them may show inside the widget.
HOST_CSS = """* { font-family: "Courier New", monospace !important; color: #c00 !important; }
button { background: #ff0 !important; border: 4px dashed #000 !important; border-radius: 0 !important; }
body { margin: 2rem; background: #fdf6e3; } p { font-size: 30px; } h1 { font-size: 40px; }"""


class HostSite:
    """A customer's website on loopback: one server answering on two origins (http://localhost:<port>, allowed
    for the bot, and http://127.0.0.1:<port>, not allowed), serving a page that embeds the widget with the
    script tag under a strict Content-Security-Policy that names only Docent."""

    def __init__(self, docent: str, key: str, identity_secret: str = "") -> None:
        self.docent, self.key, self.identity_secret = docent, key, identity_secret
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                extra = ""
                if self.path == "/site.css":
                    body, kind = HOST_CSS.encode(), "text/css"
                elif self.path == "/identity":  # the website's server signs its signed-in customer
                    now = int(time.time())
                    claims = {"sub": "customer-42", "name": "Robin", "iat": now, "exp": now + 300}
                    token = jwt.encode(claims, site.identity_secret, algorithm="HS256")
                    body, kind = json.dumps({"token": token}).encode(), "application/json"
                else:
                    extra = ' data-identity-url="/identity"' if self.path == "/account" else ""
                    page = HOST_PAGE.format(src=f"{site.docent}/widget.js", key=site.key, extra=extra)
                    body, kind = page.encode(), "text/html"
                ws = site.docent.replace("http://", "ws://")
                self.send_response(200)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header(
                    "Content-Security-Policy",
                    f"default-src 'self'; script-src 'self' {site.docent}; style-src 'self'; "
                    f"connect-src 'self' {site.docent} {ws}; img-src 'self' {site.docent} data:",
                )
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.allowed = f"http://localhost:{self.port}"
        self.refused = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def host_site(server: str, acme) -> Iterator[HostSite]:
    _, bot = acme
    bot.identity_secret = "wis_the-shops-server-keeps-this-secret-to-itself"
    site = HostSite(server, bot.publishable_key, bot.identity_secret)
    bot.allowed_origins = [site.allowed]
    bot.save(update_fields=["allowed_origins", "identity_secret"])
    yield site
    site.httpd.shutdown()
    site.httpd.server_close()


@pytest.fixture
def shots(screenshot_dir: Path) -> Path:
    folder = screenshot_dir / "widget"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def acme():
    return handbook_bot(
        welcome_message="Hi! Ask me about the handbook.",
        suggested_questions=["How many vacation days do employees get?", "When does the office open?"],
        handoff_enabled=True,
    )


DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def visit(browser, url: str, device: dict = DESKTOP):
    """A fresh browser (its own storage) opening url: the context, the page and the page's problems."""
    context = browser.new_context(**device)
    page = context.new_page()
    problems = watch(page)
    page.goto(url)
    return context, page, problems


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
    # The name and the colour may reach the preview in two redraws: wait for the name's too.
    page.wait_for_function(
        "() => document.querySelector('#widget-preview docent-widget').shadowRoot"
        ".querySelector('h2').textContent === 'Handbook helper'"
    )
    page.locator("#id_dark_mode").select_option("dark")
    page.locator("#id_position").select_option("left")
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('#widget-preview docent-widget').shadowRoot"
        ".querySelector('.win')).backgroundColor === 'rgb(22, 24, 29)'"
    )
    launcher_x = preview.locator("button.launcher").bounding_box()["x"]
    assert launcher_x < page.locator("#widget-preview").bounding_box()["x"] + 100  # the bottom-left corner
    page.locator("#widget-preview").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "01-bot-page-preview.png"), full_page=True)
    context.close()
    assert not problems, problems


def widget(page):
    """The widget's shadow root, through Playwright's shadow-piercing locators."""
    return page.locator("docent-widget")


def launcher_ready(page):
    """The launcher, once the visitor session has told it the bot's name."""
    launcher = widget(page).locator("button.launcher")
    launcher.wait_for()
    page.wait_for_function(
        "() => document.querySelector('docent-widget').shadowRoot.querySelector("
        "'button.launcher').getAttribute('aria-label').includes('HR bot')"
    )
    return launcher


def open_widget(page) -> None:
    launcher_ready(page).click()
    widget(page).get_by_role("dialog").wait_for()


# Every token event the widget applies to the answer being written is one mutation of its bubble (however the
# network happened to group the events into chunks).
STREAM_WATCH = """() => {
  const root = document.querySelector('docent-widget').shadowRoot;
  window.__tokens = 0;
  new MutationObserver(records => {
    for (const record of records) if (record.target.closest && record.target.closest('.drafting')) window.__tokens += 1;
  }).observe(root, {subtree: true, childList: true, characterData: true});
}"""


def test_an_allowed_website_chats_with_streamed_answers_and_citations_and_keeps_the_conversation(
    browser, host_site, shots
):
    context, page, problems = visit(browser, f"{host_site.allowed}/")
    socket = VisitorSocket(page)
    launcher = widget(page).locator("button.launcher")
    launcher.wait_for()
    page.screenshot(path=str(shots / "10-host-page-closed.png"))
    assert page.evaluate("localStorage.length") == 0, "the widget wrote to storage before the visitor opened it"

    open_widget(page)
    dialog = widget(page).get_by_role("dialog")
    assert dialog.locator("h2").inner_text() == "HR bot"
    assert "Hi! Ask me about the handbook." in dialog.locator(".welcome").inner_text()
    assert page.evaluate("localStorage.length") == 1  # the resume secret, now that the visitor opened it
    # The host's loud styles stay outside: the window keeps the widget's font and the launcher its colour.
    font = page.evaluate(
        "getComputedStyle(document.querySelector('docent-widget').shadowRoot.querySelector('.win')).fontFamily"
    )
    assert "Courier" not in font
    launcher_bg = page.evaluate(
        "getComputedStyle(document.querySelector('docent-widget').shadowRoot.querySelector('.launcher')).backgroundColor"
    )
    assert launcher_bg != "rgb(255, 255, 0)"

    page.evaluate(STREAM_WATCH)
    dialog.get_by_role("button", name="How many vacation days do employees get?").click()
    answer = dialog.locator("li.msg.bot").filter(has=page.locator(".sources")).last
    answer.wait_for()
    assert "25" in answer.locator(".bubble").inner_text()
    assert "25 days" in dialog.locator(".sr[aria-live=polite]").inner_text()  # read out once, when complete
    assert page.evaluate("window.__tokens") > 3, "the answer arrived in one piece, not streamed"
    source = answer.locator(".sources summary").first
    assert "Employee handbook" in source.inner_text()
    source.click()
    assert "25 days of paid vacation" in answer.locator(".sources blockquote").first.inner_text()
    page.screenshot(path=str(shots / "11-answer-with-citations.png"))

    answer.get_by_role("button", name="Not helpful").click()
    answer.get_by_role("textbox", name="Comment on this answer").fill("I wanted the carry-over rule.")
    answer.get_by_role("button", name="Send").click()
    answer.get_by_text("Thanks for your feedback.").wait_for()
    assert socket.connections == 1  # from its first message on, the conversation listens for a person's replies

    # A new page load: the conversation comes back from the server.
    page.reload()
    widget(page).locator("li.msg.bot .sources").first.wait_for()
    assert "25" in widget(page).locator("li.msg.bot").last.inner_text()
    assert widget(page).get_by_role("button", name="Not helpful").last.get_attribute("aria-pressed") == "true"
    page.screenshot(path=str(shots / "12-after-reload.png"))
    context.close()
    assert not problems, problems


def test_a_website_that_is_not_allowed_gets_a_readable_refusal(browser, host_site, shots):
    context, page, _ = visit(browser, f"{host_site.refused}/")
    launcher = widget(page).locator("button.launcher")
    launcher.wait_for()
    launcher.click()
    alert = widget(page).get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == "Sorry, this chat isn't available on this website."
    assert not widget(page).locator("form.compose").is_visible()
    assert page.evaluate("localStorage.length") == 0
    page.screenshot(path=str(shots / "20-refused-origin.png"))
    context.close()


def test_on_a_phone_the_window_fills_the_screen(browser, host_site, shots):
    context, page, problems = visit(browser, f"{host_site.allowed}/", PHONE)
    open_widget(page)
    box = widget(page).locator(".win").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    close = widget(page).get_by_role("button", name="Close chat")
    assert close.is_visible()
    page.screenshot(path=str(shots / "30-phone-open.png"))
    close.click()
    assert not widget(page).locator(".win").is_visible()
    page.screenshot(path=str(shots / "31-phone-closed.png"))
    context.close()
    assert not problems, problems


def test_the_keyboard_opens_the_chat_keeps_focus_inside_and_escape_closes_it(browser, host_site, shots):
    context, page, problems = visit(browser, f"{host_site.allowed}/")
    launcher = launcher_ready(page)
    for _ in range(5):  # the host page's two links and button, then the launcher
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "DOCENT-WIDGET":
            break
    assert launcher.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    widget(page).get_by_role("dialog").wait_for()
    focused = "() => document.querySelector('docent-widget').shadowRoot.activeElement?.getAttribute('aria-label')"
    page.wait_for_function(f"({focused})() === 'Message'")
    for _ in range(12):
        page.keyboard.press("Tab")
        inside = page.evaluate(
            "() => { const root = document.querySelector('docent-widget').shadowRoot;"
            " return !!root.activeElement && root.querySelector('.win').contains(root.activeElement); }"
        )
        assert inside, "focus left the open chat window"
    page.screenshot(path=str(shots / "40-keyboard-focus.png"))
    page.keyboard.press("Escape")
    assert not widget(page).locator(".win").is_visible()
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.evaluate(focused) == "Open chat with HR bot", "focus did not return to the launcher"
    context.close()
    assert not problems, problems


class VisitorSocket:
    """The widget's WebSocket, passed through to the server, which the test can cut (refusing reconnects
    until restored) to see the widget resume from the last message it holds."""

    def __init__(self, page) -> None:
        self.open: list = []
        self.down = False
        self.connections = 0
        page.route_web_socket(re.compile(r".*/ws/widget/$"), self._route)

    def _route(self, ws) -> None:
        if self.down:
            ws.close(code=4000, reason="offline")
            return
        self.connections += 1
        ws.connect_to_server()
        self.open.append(ws)

    def drop(self) -> None:
        self.down = True
        for ws in self.open:
            ws.close(code=4000, reason="offline")
        self.open.clear()

    def restore(self) -> None:
        self.down = False


def test_a_member_claims_the_conversation_and_the_visitor_sees_the_reply_live(browser, server, host_site, acme, shots):
    admin, _ = acme
    visitor_context, visitor, visitor_problems = visit(browser, f"{host_site.allowed}/")
    socket = VisitorSocket(visitor)
    open_widget(visitor)
    dialog = widget(visitor).get_by_role("dialog")
    dialog.get_by_role("textbox", name="Message").fill("When does the office open?")
    dialog.get_by_role("textbox", name="Message").press("Enter")
    dialog.locator("li.msg.bot .sources").first.wait_for()
    dialog.get_by_role("button", name="Talk to a person").click()
    dialog.locator("li.system", has_text="We've asked a person to join.").wait_for()
    assert "Waiting for a person" in dialog.locator(".status").inner_text()

    agent_context = browser.new_context(viewport={"width": 1280, "height": 860})
    agent = agent_context.new_page()
    agent_problems = watch(agent)
    sign_in(agent, server, admin.email)
    agent.goto(f"{server}/handoffs/")
    agent.get_by_text("live").wait_for()
    entry = agent.locator("#handoff-list a").first
    entry.wait_for()
    assert "Waiting" in entry.inner_text()
    entry.click()
    agent.locator("#handoff-log li.bot .passages").first.wait_for()
    assert "score" in agent.locator("#handoff-log li.bot .passages").first.inner_text()
    assert agent.get_by_role("button", name="Claim").is_visible()
    agent.get_by_role("button", name="Claim").click()
    agent.locator("#handoff-reply").wait_for()
    assert agent.get_by_role("button", name="Claim").is_hidden()
    dialog.locator("li.system", has_text="joined the conversation").wait_for()
    agent.screenshot(path=str(shots / "50-agent-inbox-claimed.png"), full_page=True)

    agent.get_by_label("Your reply").fill("Hi, I'm Dana. The office opens at 8 am; on Fridays too.")
    dialog.locator(".typing", has_text="is typing").wait_for()  # the visitor sees the person typing
    agent.get_by_role("button", name="Send").click()
    reply = dialog.locator("li.msg.agent").last
    reply.wait_for()
    assert "The office opens at 8 am; on Fridays too." in reply.inner_text()
    visitor.screenshot(path=str(shots / "51-visitor-sees-agent-reply.png"))

    # The visitor's connection drops, and stays down while the person writes: the reply arrives when it is back.
    socket.drop()
    agent.get_by_label("Your reply").fill("Parking is free for visitors, in the yard behind the office.")
    agent.get_by_role("button", name="Send").click()
    agent.locator("#handoff-log li.agent", has_text="Parking is free").wait_for()
    assert dialog.locator("li.msg.agent", has_text="Parking is free").count() == 0
    socket.restore()
    dialog.locator("li.msg.agent", has_text="Parking is free").wait_for(timeout=20_000)
    assert dialog.locator("li.msg.agent").count() == 2 and socket.connections >= 2

    # The visitor answers; the person sees it arrive without reloading, and the bot stays silent.
    dialog.get_by_role("textbox", name="Message").fill("Thanks, and is parking free?")
    agent.locator("#visitor-typing", has_text="The visitor is typing").wait_for()
    dialog.get_by_role("textbox", name="Message").press("Enter")
    agent.locator("#handoff-log li.visitor", has_text="is parking free?").wait_for()
    assert dialog.locator(".drafting").count() == 0
    assert dialog.locator("li.msg.bot").count() == 2  # the welcome and the one answer before the handoff

    agent.get_by_role("button", name="Resolve").click()
    dialog.locator("li.system", has_text="The conversation was closed.").wait_for()
    agent.locator("#handoff-meta", has_text="Resolved").wait_for()
    agent.locator("#handoff-empty").wait_for()  # the resolved conversation left the waiting-and-open list
    assert agent.get_by_role("button", name="Claim").is_hidden()
    assert agent.locator("#handoff-reply").is_hidden()
    agent.screenshot(path=str(shots / "52-agent-resolved.png"), full_page=True)
    agent.set_viewport_size({"width": 390, "height": 844})
    agent.locator("#handoff-filter").select_option("resolved")
    agent.locator("#handoff-list a").first.wait_for()
    assert agent.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the inbox scrolls sideways"
    agent.screenshot(path=str(shots / "54-agent-inbox-phone.png"), full_page=True)
    visitor.screenshot(path=str(shots / "53-visitor-resolved.png"))
    visitor_context.close()
    agent_context.close()
    assert not visitor_problems, visitor_problems
    assert not agent_problems, agent_problems


def test_a_signed_in_customer_finds_the_conversation_on_another_device(browser, host_site, shots):
    laptop_context, laptop, problems = visit(browser, f"{host_site.allowed}/account")
    open_widget(laptop)
    dialog = widget(laptop).get_by_role("dialog")
    dialog.get_by_role("textbox", name="Message").fill("Who approves vacation requests?")
    dialog.get_by_role("textbox", name="Message").press("Enter")
    dialog.locator("li.msg.bot .sources").first.wait_for()

    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    problems += watch(phone)
    phone.goto(f"{host_site.allowed}/account")
    assert phone.evaluate("localStorage.length") == 0  # another device: nothing of the laptop's here
    open_widget(phone)
    on_phone = widget(phone).get_by_role("dialog")
    on_phone.locator("li.msg.visitor", has_text="Who approves vacation requests?").wait_for()
    assert "team lead" in on_phone.locator("li.msg.bot").last.inner_text()
    phone.screenshot(path=str(shots / "60-verified-visitor-on-another-device.png"))

    # Without the website's signature the same browser is someone else: an anonymous visitor sees nothing of it.
    anonymous = phone_context.new_page()
    anonymous.goto(f"{host_site.allowed}/")
    open_widget(anonymous)
    widget(anonymous).locator(".welcome").wait_for()
    assert widget(anonymous).locator("li.msg.visitor").count() == 0
    laptop_context.close()
    phone_context.close()
    assert not problems, problems


def test_a_visitor_past_the_bots_daily_budget_reads_why_and_keeps_the_message(browser, host_site, acme, shots):
    _, bot = acme
    bot.widget_daily_message_budget = 0
    bot.save(update_fields=["widget_daily_message_budget"])
    context, page, _ = visit(browser, f"{host_site.allowed}/")
    open_widget(page)
    dialog = widget(page).get_by_role("dialog")
    box = dialog.get_by_role("textbox", name="Message")
    box.fill("Do unused vacation days carry over?")
    box.press("Enter")
    notice = dialog.get_by_role("alert")
    notice.wait_for()
    assert notice.inner_text() == "We've answered as many questions as we can for today. Please come back tomorrow."
    assert box.input_value() == "Do unused vacation days carry over?"  # nothing lost: it can be sent later
    assert dialog.locator("li.msg.visitor").count() == 0  # a refused message is not shown as sent
    page.screenshot(path=str(shots / "70-daily-budget-spent.png"))
    context.close()
