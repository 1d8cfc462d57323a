"""Demo data for `make run`: an organization and its owner, then each app's own demo (apps.<app>.demo.seed)."""

from __future__ import annotations

import os
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.organizations.actors import Actor
from apps.organizations.models import Membership, Organization, Role
from apps.users.models import User

DEMO_EMAIL = "admin@demo.docent.local"
DEMO_APPS = ["chatbot_provider", "documents", "chatbot", "api_keys"]


class Command(BaseCommand):
    help = "Create (or reuse) the demo organization and admin user, and each app's demo data."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="give an existing demo admin the password DEMO_ADMIN_PASSWORD (so that the one printed is true)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "docent-demo-password")
        with transaction.atomic():
            org, _ = Organization.objects.get_or_create(slug="demo", defaults={"name": "Demo Organization"})
            user = User.objects.filter(email__iexact=DEMO_EMAIL).first()
            if user is None:
                user = User.objects.create_superuser(
                    DEMO_EMAIL, password, full_name="Demo Admin", email_verified_at=timezone.now()
                )
            elif options["reset_password"] and not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            membership, _ = Membership.objects.for_org(org).get_or_create(
                organization=org, user=user, defaults={"role": Role.OWNER}
            )
        actor = Actor.for_user(user).in_organization(org, membership)
        for app in DEMO_APPS:
            if find_spec(f"apps.{app}.demo") is not None:
                import_module(f"apps.{app}.demo").seed(actor=actor)
        self.stdout.write(f"Demo organization: {org.name}  |  sign in as {DEMO_EMAIL} / {password}")
