from datetime import timedelta

import factory
from django.utils import timezone

from apps.auth.models import EmailVerificationToken, PasswordResetToken
from apps.users.tests.factories import UserFactory
from common.core.tests.factories import ModelFactory
from common.security.tokens import token_issue


class PasswordResetTokenFactory(ModelFactory):
    class Meta:
        model = PasswordResetToken

    user = factory.SubFactory(UserFactory)
    token_hash = factory.LazyFunction(lambda: token_issue("pr_").digest)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class EmailVerificationTokenFactory(ModelFactory):
    class Meta:
        model = EmailVerificationToken

    user = factory.SubFactory(UserFactory)
    token_hash = factory.LazyFunction(lambda: token_issue("ev_").digest)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))
