"""Transactional emails are plain text: names arrive as people typed them, never HTML-escaped."""

from __future__ import annotations

import pytest
from django.core import mail

from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def test_an_invitation_email_shows_names_with_apostrophes_and_ampersands_as_typed(
    client, django_capture_on_commit_callbacks
):
    organization = OrganizationFactory(name="Ben & Jerry's <Ice Cream>")
    admin = MembershipFactory(organization=organization, role=Role.ADMIN).user
    admin.full_name = "Siobhán O'Brien"
    admin.save()
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/members/invite/", {"email": "friend@example.com", "role": "member"})
    body = mail.outbox[-1].body
    assert "Siobhán O'Brien invited you to join Ben & Jerry's <Ice Cream> on Docent" in body
    assert "&#x27;" not in body and "&amp;" not in body and "&lt;" not in body
