import pytest
from django.core import mail
from django.db import transaction

from apps.auth.services import auth_signup, password_reset_request
from apps.organizations.actors import Actor
from apps.organizations.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)
STRONG = "a-long-and-unusual-passphrase-42"


def test_the_verification_email_leaves_only_after_the_signup_commits():
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        auth_signup(actor=Actor.anonymous(), email="rollback@example.com", password=STRONG)
        raise Abort
    assert mail.outbox == []
    assert not Membership.objects.unscoped().exists()

    auth_signup(actor=Actor.anonymous(), email="kept@example.com", password=STRONG)
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


@pytest.mark.django_db
def test_expired_tokens_are_purged_and_live_ones_kept(user):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    from apps.auth.models import PasswordResetToken
    from apps.auth.one_time import expired_tokens_purge

    live = RefreshToken.for_user(user)  # recorded as an outstanding token, valid for days
    expired = OutstandingToken.objects.create(
        user=user,
        jti="expired-jti",
        token="x",
        created_at=timezone.now() - timedelta(days=30),
        expires_at=timezone.now() - timedelta(days=1),
    )
    old_reset = PasswordResetToken.objects.create(
        user=user, token_hash="a" * 64, expires_at=timezone.now() - timedelta(minutes=1)
    )
    fresh_reset = PasswordResetToken.objects.create(
        user=user, token_hash="b" * 64, expires_at=timezone.now() + timedelta(hours=1)
    )

    counts = expired_tokens_purge()

    assert counts["refresh_tokens"] == 1
    assert counts["passwordresettoken"] == 1
    assert not OutstandingToken.objects.filter(pk=expired.pk).exists()
    assert OutstandingToken.objects.filter(jti=live["jti"]).exists()
    assert not PasswordResetToken.objects.filter(pk=old_reset.pk).exists()
    assert PasswordResetToken.objects.filter(pk=fresh_reset.pk).exists()
