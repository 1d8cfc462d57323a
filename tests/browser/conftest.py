"""The browser suite's fixtures: a Chromium driven by Playwright, and the real ASGI app served by uvicorn on a
free loopback port against the test database.

Chromium is Debian's `chromium` (installed when missing, see config.embedded.ensure_chromium). When none can
be had the suite fails with a message saying how to get one: CI counts a skipped test as a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from apps.chatbot_provider.tests.conftest import loopback, loopback_server  # noqa: F401 (a local model server)
from config.embedded import ensure_chromium

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "correct-horse-battery"  # the users factory's password
HANDBOOK = """Employee handbook

Vacation. Employees get 25 days of paid vacation per year. Vacation requests go to the team lead.

Office hours. The office opens at 8 am and closes at 6 pm on weekdays.
"""


def handbook_bot(**bot_fields: Any) -> tuple[Any, Any]:
    """Acme Handbooks: an admin, the employee handbook indexed, and "HR bot" answering from it."""
    from apps.chatbot.services import bots as bot_services
    from apps.documents.models import Document
    from apps.documents.services.documents import collection_create, document_create_from_text
    from apps.organizations.actors import Actor
    from apps.organizations.models import Role
    from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
    from apps.users.tests.factories import UserFactory

    organization = OrganizationFactory(name="Acme Handbooks")
    admin = UserFactory(email="admin@example.com")
    MembershipFactory(organization=organization, user=admin, role=Role.ADMIN)
    actor = Actor.for_user(admin).in_organization(organization)
    collection = collection_create(organization=organization, actor=actor, name="Handbook")
    document_create_from_text(collection=collection, actor=actor, title="Employee handbook", text=HANDBOOK)
    assert Document.objects.for_org(organization).get().status == "ready"
    bot = bot_services.bot_create(
        organization=organization, actor=actor, name="HR bot", collections=[collection.pk], **bot_fields
    )
    return admin, bot


def sign_in(page: Any, server: str, email: str) -> None:
    page.goto(f"{server}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = ensure_chromium()
    if path is None:
        pytest.fail(
            "The browser tests need Chromium: install Debian's `chromium` package (apt-get install chromium) "
            "or set CHROMIUM_PATH to a Chromium binary.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str, django_db_setup: None) -> Iterator[Any]:
    """One headless Chromium for a test module. Playwright's sync API keeps an asyncio loop running in the
    test's thread while it lives, which Django's async-safety check would take for async code (the test's own
    database calls are synchronous, so the check is lifted meanwhile) and which makes `async_to_sync` refuse
    to run: the browser ends with its module, so that tests collected after it in the same process keep
    working."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The browser tests need Playwright for Python: pip install -r requirements/dev.txt", pytrace=False)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            yield browser
            browser.close()
        # Django's connections are kept per context, and Playwright ran the tests in a context of its own: the
        # connections of the context that comes back predate the servers, which ended them on their way out.
        _close_quietly()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
        if report.failed:
            _server_state(item)
    return report


def _server_state(item: pytest.Item) -> None:
    """What the server (threads of this process) was doing when the test gave up, while it still runs: every
    thread's stack, and the event loop's tasks, in the report and in var/screenshots/failures/."""
    lines = []
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        lines.append(f"--- thread {names.get(ident, ident)}")
        lines.extend(line.rstrip() for line in traceback.format_stack(frame))
    for loop in _LOOPS:
        if loop.is_closed():
            continue
        with contextlib.suppress(RuntimeError):  # the set of tasks changed while it was read
            for task in list(asyncio.all_tasks(loop)):
                lines.append(f"--- task {task.get_name()}: {task.get_coro()!r}")
                lines.extend(line.rstrip() for frame in task.get_stack() for line in traceback.format_stack(frame, 1))
    text = "\n".join(lines)
    folder = SCREENSHOTS / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{item.name}-server.txt").write_text(text)
    sys.stderr.write(f"\n--- the server when the test gave up\n{text[-20000:]}\n")


_CALL_FAILED = pytest.StashKey[bool]()
_LOOPS: list[asyncio.AbstractEventLoop] = []  # the event loops of the servers running now


@pytest.fixture(autouse=True)
def pages_on_failure(request: pytest.FixtureRequest, browser: Any) -> Iterator[None]:
    """A failed browser test leaves every page it still had open behind, as a screenshot and its text, in
    var/screenshots/failures/: what the pages showed when the test gave up."""
    yield
    if not request.node.stash.get(_CALL_FAILED, False):
        return
    folder = SCREENSHOTS / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(page for context in browser.contexts for page in context.pages):
        stem = folder / f"{request.node.name}-{n}"
        with contextlib.suppress(Exception):  # a page that closed meanwhile has nothing to show
            page.screenshot(path=f"{stem}.png", full_page=True)
            text = f"{page.url}\n\n{page.inner_text('body')}"
            stem.with_suffix(".txt").write_text(text)
            sys.stderr.write(f"\n--- page {n}: {text[:3000]}\n")  # in the report, where only the output is kept
    sys.stderr.write(f"\nPages of the failed test: {folder}\n")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Server(uvicorn.Server):
    """uvicorn's server, knowing its event loop (for the report of a failed test)."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)


@pytest.fixture
def server(transactional_db: None) -> Iterator[str]:
    """The app (HTTP and WebSocket, static files through WhiteNoise) at http://127.0.0.1:<port>."""
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from config.asgi import application

    port = _free_port()
    # Static files from the finders, as Django's live server serves them (WhiteNoise does so only with DEBUG).
    app = ASGIStaticFilesHandler(application)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uvicorn_server = _Server(config)
    thread = threading.Thread(target=uvicorn_server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start", pytrace=False)
        time.sleep(0.05)
    assert uvicorn_server.loop is not None
    _LOOPS.append(uvicorn_server.loop)
    yield f"http://127.0.0.1:{port}"
    _LOOPS.remove(uvicorn_server.loop)
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    _close_server_connections()


def _close_server_connections() -> None:
    """The server's worker threads keep database connections of their own; end them so that the test
    database can be flushed and dropped."""
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connections.close_all()


def _close_quietly() -> None:
    """Close this context's database connections, even those the server teardown has already ended."""
    from django.db import Error as DatabaseError
    from django.db import connections

    for alias in connections:
        # One already ended by pg_terminate_backend may complain: closing it is all that is wanted.
        with contextlib.suppress(DatabaseError):
            connections[alias].close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sys.stderr.write(f"\nBrowser screenshots: {SCREENSHOTS}\n")
    return SCREENSHOTS
