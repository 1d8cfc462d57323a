import pytest

from apps.api_keys.demo import seed
from apps.api_keys.models import APIKey
from apps.organizations.actors import Actor

pytestmark = pytest.mark.django_db


def test_the_demo_key_is_created_once(organization, user, capsys):
    seed(actor=Actor.for_user(user).in_organization(organization))
    seed(actor=Actor.for_user(user).in_organization(organization))
    assert APIKey.objects.for_org(organization).count() == 1
    assert capsys.readouterr().out.count("dk_") == 1
