"""The rooms page in a real Chromium: two members, each in a browser of their own, talk live in a direct room
and in a group with a bot, read the history after a reload, and catch up on what they missed (a new message
and an edit) after their socket was cut; one pages back through a long history ("Load earlier messages") and
deletes a message of their own; a mention sent before a new room's participants have loaded still asks the
bot. Screenshots of every step go to var/screenshots/rooms/."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import handbook_bot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# Every change of the bot's draft line while it writes is one mutation of the room's log.
DRAFT_WATCH = """() => {
  window.__drafts = 0;
  new MutationObserver(() => { if (document.querySelector('#room-log .room-draft')) window.__drafts += 1; })
    .observe(document.getElementById('room-log'), {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture
def shots(screenshot_dir: Path) -> Path:
    folder = screenshot_dir / "rooms"
    folder.mkdir(parents=True, exist_ok=True)
    sys.stderr.write(f"\nRooms screenshots: {folder}\n")
    return folder


@pytest.fixture
def team():
    from apps.organizations.models import Role
    from apps.organizations.tests.factories import MembershipFactory
    from apps.users.tests.factories import UserFactory

    admin, bot = handbook_bot()
    admin.full_name = "Alex Admin"
    admin.save(update_fields=["full_name"])
    sam = UserFactory(email="sam@example.com", full_name="Sam Member")
    MembershipFactory(organization=bot.organization, user=sam, role=Role.MEMBER)
    return admin, sam, bot


class Member:
    """One member's browser: a context of its own, signed in, on /rooms/, with its socket routed through
    Playwright so that the test can cut it."""

    def __init__(self, browser: Any, server: str, email: str, device: dict = DESKTOP) -> None:
        self.context = browser.new_context(**device)
        self.context.set_default_timeout(10_000)  # a failure ends in seconds, not the default half minute
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.sockets: list[Any] = []
        self.page.route_web_socket("**/ws/**", self._proxy)
        sign_in(self.page, server, email)
        self.server = server
        self.open()

    def _console(self, message: Any) -> None:
        # While the test holds the page offline, the browser itself logs each request the page's reconnect
        # attempts make (its ticket fetch) as a failed load; that is the cut the test made, not a fault.
        if message.type == "error" and "ERR_INTERNET_DISCONNECTED" not in message.text:
            self.problems.append(message.text)

    def _proxy(self, ws: Any) -> None:
        ws.connect_to_server()
        self.sockets.append(ws)

    def open(self) -> None:
        self.page.goto(f"{self.server}/rooms/")
        self.live()

    def live(self) -> None:
        self.page.wait_for_function("() => document.getElementById('connection').textContent === 'live'")

    def room(self, name: str) -> None:
        self.page.locator("#room-list").get_by_role("link", name=name).click()
        self.page.wait_for_function("name => document.getElementById('room-title').textContent === name", arg=name)

    def open_direct(self, label: str, title: str) -> None:
        """Open the direct room with the member or bot `label` names in the "Talk to" list; the room is `title`."""
        self.page.locator("#direct-with").select_option(label=label)
        self.page.get_by_role("button", name="Open").click()
        self.page.wait_for_function("t => document.getElementById('room-title').textContent === t", arg=title)

    def say(self, text: str) -> None:
        self.page.get_by_role("textbox", name="Message").fill(text)
        self.page.get_by_role("textbox", name="Message").press("Enter")

    def sees(self, text: str, *, timeout: float = 10_000) -> Any:
        line = self.page.locator("#room-log p.room-message", has_text=text)
        line.first.wait_for(timeout=timeout)
        return line.first

    def shot(self, folder: Path, name: str) -> None:
        self.page.screenshot(path=str(folder / name), full_page=True)


def test_two_members_chat_live_ask_a_bot_and_catch_up_after_a_cut_connection(browser, server, team, shots):
    admin, sam, _bot = team
    alex = Member(browser, server, admin.email)
    sam_page = Member(browser, server, sam.email)

    # A direct room: Alex opens it with Sam; it appears on Sam's page and both see each other's messages live.
    alex.open_direct("Sam Member", "Sam Member")
    alex.say("Hi Sam, lunch at noon?")
    alex.sees("You: Hi Sam, lunch at noon?")
    sam_page.page.locator("#room-list").get_by_role("link", name="Alex Admin").wait_for()  # named after the other
    sam_page.room("Alex Admin")
    sam_page.sees("Alex Admin: Hi Sam, lunch at noon?")
    sam_page.say("Noon works.")
    alex.sees("Sam Member: Noon works.")
    alex.shot(shots, "01-direct-alex.png")
    sam_page.shot(shots, "02-direct-sam.png")

    # A group with the bot: a mention of "@HR bot" gets an answer written live, seen by both.
    alex.page.get_by_label("New group").fill("Onboarding")
    alex.page.locator("#group-members").select_option(label=["Sam Member", "HR bot (bot)"])
    alex.page.get_by_role("button", name="Create").click()
    alex.page.wait_for_function("() => document.getElementById('room-title').textContent === 'Onboarding'")
    sam_page.page.locator("#room-list").get_by_role("link", name="Onboarding").wait_for()
    sam_page.room("Onboarding")
    sam_page.page.evaluate(DRAFT_WATCH)
    alex.say("@HR bot how many vacation days do employees get?")
    answer = sam_page.sees("HR bot:", timeout=60_000)  # a whole answer: retrieval and the provider's stream (cold)
    assert "25" in answer.inner_text()
    assert "[1] Employee handbook" in answer.locator(".room-sources").inner_text()  # what [1] points at
    assert sam_page.page.evaluate("window.__drafts") > 0, "the answer arrived in one piece, not written live"
    assert "25" in alex.sees("HR bot:").inner_text()
    sam_page.sees("Alex Admin: @HR bot how many vacation days")
    alex.shot(shots, "03-group-bot-answer-alex.png")
    sam_page.shot(shots, "04-group-bot-answer-sam.png")

    # A reload reads the history back from the server.
    sam_page.open()
    sam_page.room("Onboarding")
    sam_page.sees("Alex Admin: @HR bot how many vacation days")
    assert "25" in sam_page.sees("HR bot:").inner_text()
    sam_page.shot(shots, "05-group-after-reload-sam.png")

    # Sam's connection drops; meanwhile Alex sends a message and edits an earlier one.
    sam_page.context.set_offline(True)
    for ws in sam_page.sockets:
        ws.close()
    sam_page.page.wait_for_function("() => document.getElementById('connection').textContent !== 'live'")
    alex.page.get_by_role("button", name="Edit your message 1").click()
    alex.page.get_by_role("textbox", name="Message").fill("@HR bot how many vacation days do new employees get?")
    alex.page.get_by_role("textbox", name="Message").press("Enter")
    alex.sees("new employees get? (edited)")
    alex.say("Welcome aboard, Sam!")
    alex.sees("You: Welcome aboard, Sam!")
    sam_page.shot(shots, "06-group-offline-sam.png")
    assert not sam_page.page.locator("#room-log", has_text="Welcome aboard").count()

    # Back online, the page reconnects and resumes: the missed message and the edit both appear.
    sam_page.context.set_offline(False)
    sam_page.live()
    sam_page.sees("Alex Admin: Welcome aboard, Sam!")
    edited = sam_page.sees("new employees get?")
    assert "(edited)" in edited.inner_text()
    sam_page.shot(shots, "07-group-resumed-sam.png")

    # On a phone, the page still fits: nothing wider than the screen.
    phone = Member(browser, server, sam.email, PHONE)
    phone.room("Onboarding")
    phone.sees("Alex Admin: Welcome aboard, Sam!")
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"
    phone.shot(shots, "08-phone.png")

    for member in (alex, sam_page, phone):
        member.context.close()
        assert not member.problems, member.problems


def test_a_member_pages_back_through_a_long_history_and_deletes_a_message_of_their_own(browser, server, team, shots):
    from apps.chat.services import room_group_create, room_message_send
    from apps.organizations.actors import Actor
    from apps.organizations.models import Membership

    admin, sam, bot = team
    membership = Membership.objects.for_org(bot.organization).select_related("organization").get(user=admin)
    alex_actor = Actor.for_user(admin).in_organization(membership.organization, membership)
    room = room_group_create(actor=alex_actor, title="Archive", user_ids=[sam.pk])
    for n in range(1, 61):  # more than the page reads at first (the latest 50)
        room_message_send(actor=alex_actor, conversation_id=room.pk, text=f"Note {n:02d}", client_msg_id=f"n{n}")

    sam_page = Member(browser, server, sam.email)
    alex = Member(browser, server, admin.email)
    sam_page.room("Archive")
    sam_page.sees("Alex Admin: Note 60")
    sam_page.sees("Alex Admin: Note 11")
    assert not sam_page.page.locator("#room-log", has_text="Note 10").count()
    assert sam_page.page.locator("#room-log p.room-message").count() == 50
    sam_page.shot(shots, "09-history-latest-sam.png")

    # "Load earlier" reads the ten before, and then there is nothing earlier to load.
    sam_page.page.get_by_role("button", name="Load earlier messages").click()
    sam_page.sees("Alex Admin: Note 01")
    assert sam_page.page.locator("#room-log p.room-message").count() == 60
    assert not sam_page.page.get_by_role("button", name="Load earlier messages").count()
    sam_page.shot(shots, "10-history-earlier-sam.png")

    # Sam deletes a message of their own (asked once more on the spot); both pages show it deleted.
    sam_page.say("Sent to the wrong room, sorry")
    sam_page.sees("You: Sent to the wrong room, sorry")
    alex.room("Archive")
    alex.sees("Sam Member: Sent to the wrong room, sorry")
    assert not alex.page.get_by_role("button", name="Delete your message 61").count()  # not Alex's to delete
    sam_page.page.get_by_role("button", name="Delete your message 61").click()
    sam_page.shot(shots, "11-delete-confirm-sam.png")
    assert sam_page.page.locator("#room-log", has_text="Sent to the wrong room").count()  # not yet
    sam_page.page.get_by_role("button", name="Confirm deleting your message 61").click()
    sam_page.sees("You: deleted")
    alex.sees("Sam Member: deleted")
    assert not alex.page.locator("#room-log", has_text="Sent to the wrong room").count()
    assert not sam_page.page.get_by_role("button", name="Delete your message 61").count()
    sam_page.shot(shots, "12-deleted-sam.png")
    alex.shot(shots, "13-deleted-alex.png")

    for member in (alex, sam_page):
        member.context.close()
        assert not member.problems, member.problems


def test_a_member_sees_why_a_bot_could_not_answer(browser, server, team, shots):
    from django.utils import timezone

    from apps.api_keys import limits
    from apps.api_keys.tests.factories import OrganizationAPILimitsFactory

    admin, _sam, bot = team
    # The organization's tokens for today are used up: the bot refuses before asking any provider.
    OrganizationAPILimitsFactory(organization=bot.organization, daily_token_quota=100)
    limits.add_organization_usage(bot.organization_id, field="tokens", amount=100, now=timezone.now())

    alex = Member(browser, server, admin.email)
    alex.open_direct("HR bot (bot)", "HR bot")
    alex.say("How many vacation days do employees get?")
    alex.sees("You: How many vacation days do employees get?")
    refusal = alex.page.locator("#room-log .room-bot-error")
    refusal.wait_for()
    assert refusal.inner_text().startswith("HR bot could not answer: ")
    assert "quota" in refusal.inner_text().lower()
    assert not alex.page.locator("#room-log p.room-message", has_text="HR bot:").count()
    alex.shot(shots, "14-bot-refused-alex.png")

    alex.context.close()
    assert not alex.problems, alex.problems


def test_a_mention_typed_before_the_room_has_loaded_still_asks_the_bot(browser, server, team, shots):
    import re

    admin, _sam, _bot = team
    alex = Member(browser, server, admin.email)
    # The new group's participants (who can be mentioned) arrive only when the test lets them through: the member
    # writes to the bot before the page knows the bot takes part.
    held: list[Any] = []
    detail = re.compile(r"/api/v1/rooms/[0-9a-f-]{36}$")
    alex.page.route(detail, lambda route: route.continue_() if held else held.append(route))
    alex.page.get_by_label("New group").fill("Onboarding")
    alex.page.locator("#group-members").select_option(label=["Sam Member", "HR bot (bot)"])
    alex.page.get_by_role("button", name="Create").click()
    alex.page.wait_for_function("() => document.getElementById('room-title').textContent === 'Onboarding'")
    for _ in range(100):  # the route is called while the test waits on the page
        if held:
            break
        alex.page.wait_for_timeout(50)
    assert len(held) == 1
    alex.say("@HR bot how many vacation days do employees get?")
    alex.page.wait_for_timeout(300)  # the page has had the time to send it, were it not waiting
    assert alex.page.get_by_role("textbox", name="Message").input_value() == ""  # taken, as ever
    held[0].continue_()

    alex.sees("You: @HR bot how many vacation days do employees get?")
    answer = alex.sees("HR bot:", timeout=60_000)
    assert "25" in answer.inner_text()
    alex.shot(shots, "15-mention-before-loaded-alex.png")

    alex.context.close()
    assert not alex.problems, alex.problems
