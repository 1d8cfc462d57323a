"""Widget test fixtures: a bot answering from a real indexed document, embedded on a shop's site, and a
browser-like client for the widget door (Origin and visitor token on every call)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from django.test import Client

from apps.chat.tests.conftest import servers  # noqa: F401  (real servers, for the visitor socket's tests)
from apps.chatbot.services import bots as bot_services
from apps.documents.models import Document
from apps.documents.services.documents import collection_create, document_create_from_text
from apps.organizations.actors import Actor
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

SHOP = "https://shop.example"
HANDBOOK = """Returns policy

Returns. Customers may return any item within 30 days of delivery for a full refund. Refunds reach the card
within five working days.

Shipping. Orders ship from our warehouse within two working days. Express shipping costs 9 euros.
"""


@pytest.fixture
def admin_actor(organization):
    membership = MembershipFactory(organization=organization, role=Role.ADMIN)
    return Actor.for_user(membership.user).in_organization(organization, membership)


@pytest.fixture
def shop_bot(organization, admin_actor, django_capture_on_commit_callbacks):
    """A bot with the shop's returns policy indexed, embeddable on https://shop.example, handing over to people."""
    collection = collection_create(organization=organization, actor=admin_actor, name="Shop policies")
    with django_capture_on_commit_callbacks(execute=True):
        created = document_create_from_text(
            collection=collection, actor=admin_actor, title="Returns policy", text=HANDBOOK
        )
    assert Document.objects.unscoped().get(pk=created.document.pk).status == "ready"
    return bot_services.bot_create(
        organization=organization,
        actor=admin_actor,
        name="Shop helper",
        collections=[collection.pk],
        allowed_origins=[SHOP],
        welcome_message="Hi! Ask me about returns and shipping.",
        suggested_questions=["How do returns work?"],
        handoff_enabled=True,
        dont_know_message="I don't know that one.",
    )


@pytest.fixture
def agent(organization, make_member_client):
    """A member of the bot's organization acting as agent (docs/roles.md)."""
    return make_member_client(organization, Role.MEMBER)


def sse_events(response: Any) -> list[tuple[str, dict[str, Any]]]:
    body = b"".join(response.streaming_content).decode()
    events = []
    for frame in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@dataclass
class WidgetBrowser:
    """The widget on a page of `origin`: opens a session, then sends its token and the Origin on every call."""

    origin: str = SHOP
    client: Client = field(default_factory=Client)
    token: str = ""
    session: dict[str, Any] = field(default_factory=dict)

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Origin": self.origin, **extra}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def open(self, key: str, **body: Any) -> Any:
        response = self.client.post(
            "/widget/v1/session", {"key": key, **body}, content_type="application/json", headers={"Origin": self.origin}
        )
        if response.status_code == 200:
            self.session = response.json()
            self.token = self.session["token"]
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers())

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, body or {}, content_type="application/json", headers=self.headers())

    def send(self, text: str, client_msg_id: str = "") -> Any:
        """Send a message; a streamed answer is read to the end (as the widget does) into `response.events`."""
        response = self.post("/widget/v1/messages", {"text": text, "client_msg_id": client_msg_id})
        response.events = sse_events(response) if response.streaming else []
        return response


@pytest.fixture
def browser() -> WidgetBrowser:
    return WidgetBrowser()


def identity_token(secret: str, sub: str = "customer-42", *, lifetime: int = 300, **claims: Any) -> str:
    """What the shop's backend signs for its signed-in customer (docs/widget.md)."""
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + lifetime, **claims}, secret, algorithm="HS256")
