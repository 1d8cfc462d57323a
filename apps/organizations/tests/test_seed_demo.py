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


@pytest.mark.django_db
def test_the_printed_demo_password_signs_in_after_a_reset_even_when_the_admin_existed(monkeypatch, capsys):
    call_command("seed_demo")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "a-new-generated-password")

    call_command("seed_demo")
    assert User.objects.get(email="admin@demo.docent.local").check_password("docent-demo-password")  # kept

    call_command("seed_demo", "--reset-password")
    assert User.objects.get(email="admin@demo.docent.local").check_password("a-new-generated-password")
    assert "admin@demo.docent.local / a-new-generated-password" in capsys.readouterr().out
