import pytest

from apps.organizations.models import Role
from apps.organizations.tests.factories import OrganizationFactory
from apps.organizations.tests.isolation import World, discover_factories


@pytest.fixture
def isolation_world(db, make_member_client):
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    client_a = make_member_client(org_a, Role.OWNER)
    return World(org_a=org_a, org_b=org_b, client_a=client_a, factories=discover_factories())
