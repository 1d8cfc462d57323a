"""Demo data: one read-only API key for the demo organization (its secret is printed once, when created)."""

from __future__ import annotations

from apps.api_keys.models import APIKey, Scope
from apps.api_keys.services import api_key_create
from apps.organizations.actors import Actor

DEMO_KEY_NAME = "Demo key (read only)"


def seed(*, actor: Actor) -> None:
    organization = actor.org
    if APIKey.objects.for_org(organization).filter(name=DEMO_KEY_NAME).exists():
        return
    issued = api_key_create(
        organization=organization,
        actor=actor,
        name=DEMO_KEY_NAME,
        scopes=[Scope.BOTS_READ, Scope.DOCUMENTS_READ, Scope.SEARCH, Scope.CHAT, Scope.ANALYTICS_READ],
    )
    print(f"Demo API key (shown once): {issued.plaintext}")
