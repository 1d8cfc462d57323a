"""Demo data: one read-only API key for the demo organization (its secret is printed once, when created)."""

from __future__ import annotations

from typing import Any

from apps.api_keys.models import APIKey, Scope
from apps.api_keys.services import api_key_create
from apps.organizations.models import Organization

DEMO_KEY_NAME = "Demo key (read only)"


def seed(*, organization: Organization, user: Any) -> None:
    if APIKey.objects.for_org(organization).filter(name=DEMO_KEY_NAME).exists():
        return
    issued = api_key_create(
        organization=organization,
        created_by=user,
        name=DEMO_KEY_NAME,
        scopes=[Scope.BOTS_READ, Scope.DOCUMENTS_READ, Scope.SEARCH, Scope.CHAT, Scope.ANALYTICS_READ],
    )
    print(f"Demo API key (shown once): {issued.plaintext}")
