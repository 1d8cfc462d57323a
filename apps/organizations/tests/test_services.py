import threading

import pytest
from django.db import connection

from apps.organizations.actors import Actor
from apps.organizations.errors import LastOwnerError
from apps.organizations.models import AuditEvent, Membership, Role
from apps.organizations.services import membership_leave, organization_create
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.users.tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_two_owners_leaving_at_once_leave_one_owner_behind():
    organization = OrganizationFactory()
    owners = [MembershipFactory(organization=organization, role=Role.OWNER) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def leave(membership: Membership) -> None:
        try:
            barrier.wait(timeout=10)
            fresh = (
                Membership.objects.for_org(organization).select_related("organization", "user").get(pk=membership.pk)
            )
            membership_leave(actor=Actor.for_user(fresh.user).in_organization(organization, fresh))
            outcomes.append("left")
        except LastOwnerError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=leave, args=(m,)) for m in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["left", "refused"]
    assert Membership.objects.for_org(organization).filter(role=Role.OWNER).count() == 1


@pytest.mark.django_db
def test_organization_slugs_stay_unique_for_equal_names():
    user = UserFactory()
    first = organization_create(actor=Actor.for_user(user), name="Acme Inc.")
    second = organization_create(actor=Actor.for_user(user), name="Acme Inc.")
    assert first.slug == "acme-inc"
    assert second.slug.startswith("acme-inc-")
    assert AuditEvent.objects.for_org(first).filter(action="organization.created").count() == 1
