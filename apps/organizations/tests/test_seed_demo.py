import pytest
from django.core.management import call_command

from apps.organizations.models import Membership, Organization, Role
from apps.users.models import User


@pytest.mark.django_db
def test_seed_demo_creates_an_owner_who_can_sign_in_and_is_idempotent(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    org = Organization.objects.get(slug="demo")
    user = User.objects.get(email="admin@demo.docent.local")
    assert Membership.objects.unscoped().get(organization=org, user=user).role == Role.OWNER
    assert user.check_password("docent-demo-password")
    assert "admin@demo.docent.local" in capsys.readouterr().out
