from datetime import timedelta

import factory
from django.utils import timezone

from apps.organizations.models import AuditEvent, Invitation, Membership, Organization, Role
from apps.users.tests.factories import UserFactory
from common.core.tests.factories import ModelFactory
from common.security.tokens import token_issue


class OrganizationFactory(ModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(ModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class InvitationFactory(ModelFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MEMBER
    token_hash = factory.LazyFunction(lambda: token_issue("inv_").digest)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class AuditEventFactory(ModelFactory):
    class Meta:
        model = AuditEvent

    organization = factory.SubFactory(OrganizationFactory)
    action = "test.event"
