"""Demo data: a collection with two documents that get indexed; seeding twice changes nothing."""

import pytest

from apps.documents import demo
from apps.documents.models import Collection, Document, DocumentStatus
from apps.organizations.actors import Actor

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent_and_indexes(organization, user, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            demo.seed(actor=Actor.for_user(user).in_organization(organization))
    assert Collection.objects.for_org(organization).count() == 1
    documents = Document.objects.for_org(organization)
    assert documents.count() == 2
    assert set(documents.values_list("status", flat=True)) == {DocumentStatus.READY}
