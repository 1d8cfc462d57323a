"""The /webhooks/ pages for owners and admins."""

import re

import pytest
from django.contrib.messages import get_messages

from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory
from apps.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db
SECRET = re.compile(r'<div class="secret" id="new-webhook-secret"[^>]*>(whsec_[^<]+)</div>')


@pytest.fixture
def admin_browser(client, organization):
    client.force_login(MembershipFactory(organization=organization, role=Role.ADMIN).user)
    return client


def test_members_cannot_open_the_page(client, organization):
    client.force_login(MembershipFactory(organization=organization, role=Role.MEMBER).user)
    assert client.get("/webhooks/").status_code == 403


def test_an_admin_sees_the_organizations_endpoints_only(admin_browser, organization, other_organization):
    own = WebhookEndpointFactory(organization=organization, description="CRM sync")
    WebhookEndpointFactory(organization=other_organization, url="http://127.0.0.1:9/someone-else")
    page = admin_browser.get("/webhooks/").content.decode()
    assert "CRM sync" in page and own.url in page and "someone-else" not in page
    assert own.secret not in page
    assert 'href="/webhooks/"' in page  # in the navigation


def test_adding_an_endpoint_shows_its_secret_once(admin_browser, organization, receiver):
    response = admin_browser.post("/webhooks/", {"url": receiver.url, "event_types": ["document.ready"]})
    page = response.content.decode()
    shown = SECRET.search(page)
    assert shown, page
    assert response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.for_org(organization).get()
    assert endpoint.secret == shown.group(1)
    assert shown.group(1) not in admin_browser.get("/webhooks/").content.decode()
    assert "<script>" not in page and "js/webhooks.js" in page  # no inline script (CSP)


def test_a_private_url_is_refused_with_the_reason_on_the_form(admin_browser, organization):
    response = admin_browser.post("/webhooks/", {"url": "http://10.0.0.5/hook", "event_types": ["document.ready"]})
    assert response.status_code == 200
    assert "non-public address" in response.content.decode()
    assert not WebhookEndpoint.objects.for_org(organization).exists()


def test_the_detail_page_lists_deliveries_and_redelivers(
    admin_browser, organization, receiver, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpointFactory(organization=organization, url=receiver.url)
    delivery = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.FAILED, last_error="HTTP 500.")
    page = admin_browser.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert "document.ready" in page and "HTTP 500." in page and "Redeliver" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_browser.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 302
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.for_org(organization).get(pk=delivery.pk).status == DeliveryStatus.SUCCEEDED


def test_settings_test_rotate_and_delete(admin_browser, organization, receiver, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpointFactory(organization=organization, url=receiver.url)
    response = admin_browser.post(
        f"/webhooks/{endpoint.pk}/",
        {"url": receiver.url, "event_types": ["member.added", "member.removed"], "description": "HR"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["member.added", "member.removed"] and not endpoint.enabled  # box unticked

    response = admin_browser.post(f"/webhooks/{endpoint.pk}/test")
    assert "The endpoint is disabled: enable it to send a test event." in [
        m.message for m in get_messages(response.wsgi_request)
    ]
    admin_browser.post(
        f"/webhooks/{endpoint.pk}/", {"url": receiver.url, "event_types": ["member.added"], "enabled": "on"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_browser.post(f"/webhooks/{endpoint.pk}/test")
    assert len(receiver.received) == 1

    rotated = admin_browser.post(f"/webhooks/{endpoint.pk}/rotate").content.decode()
    shown = SECRET.search(rotated)
    assert shown and shown.group(1) != endpoint.secret
    assert admin_browser.post(f"/webhooks/{endpoint.pk}/delete").status_code == 302
    assert not WebhookEndpoint.objects.for_org(organization).exists()
