"""The audit log page (who — a member or an API key —, what, when, from which IP; filters) and creating an
organization from the web."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.organizations.audit import AuditAction
from apps.organizations.models import AuditEvent, Membership, Role
from apps.organizations.tests.factories import AuditEventFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _client(organization, role=Role.ADMIN) -> Client:
    client = Client()
    client.force_login(MembershipFactory(organization=organization, role=role).user)
    return client


@pytest.fixture
def events(organization, other_organization):
    made = [
        AuditEventFactory(
            organization=organization,
            action=AuditAction.DOCUMENT_DELETED,
            actor_kind="user",
            actor_label="ada@example.com",
            ip="203.0.113.7",
            data={"title": "Old handbook"},
        ),
        AuditEventFactory(
            organization=organization,
            action=AuditAction.BOT_UPDATED,
            actor_kind="api_key",
            actor_label="API key dk_ab12cd",
            ip="198.51.100.4",
            data={"name": "HR bot"},
        ),
        AuditEventFactory(
            organization=organization, action=AuditAction.DOCUMENT_REINDEXED, actor_kind="user", actor_label="bo@x.io"
        ),
        AuditEventFactory(organization=other_organization, action=AuditAction.BOT_DELETED, actor_label="spy@x.io"),
    ]
    AuditEvent.objects.for_org(organization).filter(pk=made[2].pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    return made


def test_the_audit_log_shows_who_did_what_when_and_from_where(organization, events):
    page = _client(organization).get("/settings/audit/").content.decode()
    assert "3 events" in page and "spy@x.io" not in page
    assert "ada@example.com" in page and "203.0.113.7" in page and "Document deleted" in page and "Old handbook" in page
    assert "API key dk_ab12cd" in page and "API key</span>" in page and "Bot changed" in page
    assert page.index("Bot changed") < page.index("Document reindexed")  # newest first


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("?actor_kind=api_key", ["dk_ab12cd"], ["ada@example.com", "bo@x.io"]),
        ("?who=ADA", ["ada@example.com"], ["dk_ab12cd", "bo@x.io"]),
        ("?action=document.", ["ada@example.com", "bo@x.io"], ["dk_ab12cd"]),
        ("?action=document.reindexed", ["bo@x.io"], ["ada@example.com"]),
        (f"?start={(timezone.now() - timedelta(days=2)).date()}", ["ada@example.com"], ["bo@x.io"]),
        ("?start=not-a-date&action=nonsense", ["ada@example.com", "bo@x.io"], []),
    ],
)
def test_the_audit_log_filters(organization, events, query, shown, hidden):
    page = _client(organization).get(f"/settings/audit/{query}").content.decode()
    for label in shown:
        assert label in page, query
    for label in hidden:
        assert label not in page, query


def test_members_cannot_read_the_audit_log(organization, events):
    assert _client(organization, Role.MEMBER).get("/settings/audit/").status_code == 403


def test_a_signed_in_person_creates_an_organization_and_works_in_it(organization):
    client = _client(organization, Role.MEMBER)
    assert client.get("/organizations/new/").status_code == 200
    response = client.post("/organizations/new/", {"name": "Beta Labs"})
    assert response.status_code == 302 and response["Location"] == "/"
    membership = Membership.objects.unscoped().get(organization__name="Beta Labs")
    assert membership.role == Role.OWNER
    assert "Beta Labs" in client.get("/").content.decode().split("<main>", 1)[1]  # the new one is current
    refused = client.post("/organizations/new/", {"name": "  "})
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()


def test_creating_an_organization_needs_a_sign_in():
    response = Client().get("/organizations/new/")
    assert response.status_code == 302 and "/login/" in response["Location"]
