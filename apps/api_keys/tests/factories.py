import factory

from apps.api_keys.models import ALL_SCOPES, APIKey, APIKeyUsageDaily, OrganizationAPILimits
from apps.api_keys.services import api_key_create
from apps.organizations.actors import Actor
from apps.organizations.tests.factories import OrganizationFactory
from common.core.tests.factories import ModelFactory


class APIKeyFactory(ModelFactory):
    """An API key issued through the real service; the plaintext is on `.plaintext` (not stored)."""

    class Meta:
        model = APIKey

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Key {n}")
    scopes = list(ALL_SCOPES)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        issued = api_key_create(actor=Actor.system(organization=kwargs["organization"]), **kwargs)
        issued.api_key.plaintext = issued.plaintext
        return issued.api_key


class APIKeyUsageDailyFactory(ModelFactory):
    class Meta:
        model = APIKeyUsageDaily

    organization = factory.SubFactory(OrganizationFactory)
    api_key = factory.LazyAttribute(lambda o: APIKeyFactory(organization=o.organization))
    date = factory.Faker("date_this_month")
    requests = 10
    tokens = 100
    errors = 1

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["organization"] = kwargs["api_key"].organization  # a usage row is always its key's org's
        return kwargs


class OrganizationAPILimitsFactory(ModelFactory):
    class Meta:
        model = OrganizationAPILimits
        django_get_or_create = ("organization",)

    organization = factory.SubFactory(OrganizationFactory)
    daily_request_quota = 10_000
