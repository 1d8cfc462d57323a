import uuid

import factory

from apps.organizations.tests.factories import OrganizationFactory
from apps.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from apps.webhooks.signing import secret_generate
from common.core.tests.factories import ModelFactory


class WebhookEndpointFactory(ModelFactory):
    """An endpoint on the discard port of loopback: a stray delivery is refused at once, never sent out."""

    class Meta:
        model = WebhookEndpoint

    organization = factory.SubFactory(OrganizationFactory)
    url = "http://127.0.0.1:9/hook"
    event_types = ["document.ready", "document.failed"]
    secret = factory.LazyFunction(secret_generate)


class WebhookDeliveryFactory(ModelFactory):
    class Meta:
        model = WebhookDelivery

    organization = factory.SubFactory(OrganizationFactory)
    endpoint = factory.LazyAttribute(lambda o: WebhookEndpointFactory(organization=o.organization))
    sequence = factory.Sequence(lambda n: n + 1)
    event_id = factory.LazyFunction(lambda: uuid.uuid4().hex)
    event_type = "document.ready"
    body = '{"type":"document.ready","timestamp":"2026-01-01T00:00:00+00:00","data":{}}'
    status = DeliveryStatus.SUCCEEDED

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["organization"] = kwargs["endpoint"].organization
        return kwargs
