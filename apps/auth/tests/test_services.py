import pytest
from django.core import mail
from django.db import transaction

from apps.auth.services import auth_signup, password_reset_request
from apps.organizations.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)
STRONG = "a-long-and-unusual-passphrase-42"


def test_the_verification_email_leaves_only_after_the_signup_commits():
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        auth_signup(email="rollback@example.com", password=STRONG)
        raise Abort
    assert mail.outbox == []
    assert not Membership.objects.exists()

    auth_signup(email="kept@example.com", password=STRONG)
    assert [m.to for m in mail.outbox] == [["kept@example.com"]]


def test_a_reset_for_an_unknown_email_sends_nothing():
    password_reset_request(email="nobody@example.com")
    assert mail.outbox == []


def test_a_reset_request_is_looked_up_after_commit_on_a_worker():
    from apps.users.tests.factories import UserFactory

    user = UserFactory()
    with transaction.atomic():
        password_reset_request(email=user.email.upper())
        assert mail.outbox == []  # nothing looked up or sent inside the request's transaction
    assert [m.to for m in mail.outbox] == [[user.email]]
