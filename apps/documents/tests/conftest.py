"""Fixtures of the documents tests."""

from __future__ import annotations

import pytest

from apps.documents.models import Collection
from apps.documents.tests.factories import CollectionFactory
from apps.organizations.models import Organization


@pytest.fixture
def collection(organization: Organization) -> Collection:
    return CollectionFactory(organization=organization, name="Handbook")
