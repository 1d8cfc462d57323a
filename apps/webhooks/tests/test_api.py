"""/api/v1/webhooks: owners and admins manage endpoints, see and redeliver deliveries, send test events;
bad URLs get a 400 that says why; API keys are refused."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from apps.organizations.models import AuditEvent
from apps.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks"


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def _create(client, url, event_types=("document.ready",), **extra):
    return client.post(URL, {"url": url, "event_types": list(event_types), **extra}, format="json")


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(admin_client, organization, receiver):
    response = _create(admin_client, receiver.url, ["document.ready", "member.added"], description="CRM sync")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret_hint"] == f"whsec_…{body['secret'][-4:]}"
    assert body["event_types"] == ["document.ready", "member.added"] and body["enabled"] is True
    detail = admin_client.get(f"{URL}/{body['id']}").json()
    assert "secret" not in detail and detail["description"] == "CRM sync"
    assert body["secret"] not in json.dumps(admin_client.get(URL).json())
    with connection.cursor() as cursor:  # stored encrypted
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint WHERE id = %s", [body["id"]])
        (stored,) = cursor.fetchone()
    assert body["secret"] not in stored
    assert AuditEvent.objects.for_org(organization).filter(action="webhook.created").exists()


@pytest.mark.parametrize(
    ("url", "code", "reason"),
    [
        ("ftp://example.com/hook", "webhook_url_invalid", "https:// or http://"),
        ("not a url", "webhook_url_invalid", "https:// or http://"),
        ("http://user:pw@example.com/", "webhook_url_invalid", "user name or password"),
        ("http://example.com:99999/", "webhook_url_invalid", "not a valid URL"),
        ("http://10.0.0.5/hook", "webhook_url_blocked", "non-public address"),
        ("http://192.168.1.20/hook", "webhook_url_blocked", "non-public address"),
        ("http://169.254.169.254/latest/meta-data/", "webhook_url_blocked", "non-public address"),
        ("http://[::ffff:169.254.169.254]/", "webhook_url_blocked", "non-public address"),
        ("http://0.0.0.0/", "webhook_url_blocked", "non-public address"),
    ],
)
def test_a_bad_url_is_refused_with_the_reason(admin_client, organization, url, code, reason):
    response = _create(admin_client, url)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and reason in error["message"]
    assert error["details"]["url"]
    assert not WebhookEndpoint.objects.for_org(organization).exists()


def test_a_name_resolving_to_a_private_address_is_refused_at_save(admin_client, organization, fake_dns):
    fake_dns("hooks.example.test", "10.0.0.7")
    response = _create(admin_client, "https://hooks.example.test/hook")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "webhook_url_blocked"
    assert "hooks.example.test resolves to a non-public address (10.0.0.7)" in error["message"]


def test_loopback_needs_the_setting(admin_client, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    assert _create(admin_client, "http://127.0.0.1:8080/hook").json()["error"]["code"] == "webhook_url_blocked"
    assert _create(admin_client, "http://localhost:8080/hook").json()["error"]["code"] == "webhook_url_blocked"
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    assert _create(admin_client, "http://10.0.0.5/hook").status_code == 201
    assert _create(admin_client, "http://169.254.169.254/").status_code == 400  # link-local: never


def test_an_update_checks_the_new_url_too(admin_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    response = admin_client.patch(f"{URL}/{endpoint.pk}", {"url": "http://10.1.2.3/"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "webhook_url_blocked"
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/hook"


def test_unknown_or_no_event_types_are_refused(admin_client, receiver):
    assert _create(admin_client, receiver.url, ["document.exploded"]).json()["error"]["details"]["event_types"]
    assert _create(admin_client, receiver.url, []).json()["error"]["details"]["event_types"]


def test_an_admin_changes_disables_and_deletes_an_endpoint(admin_client, organization, receiver):
    endpoint = WebhookEndpointFactory(organization=organization)
    response = admin_client.patch(
        f"{URL}/{endpoint.pk}",
        {"url": receiver.url, "event_types": ["feedback.created", "handoff.requested"], "enabled": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["url"] == receiver.url and body["enabled"] is False and body["disabled_reason"] == "manual"
    assert body["event_types"] == ["feedback.created", "handoff.requested"]
    assert admin_client.delete(f"{URL}/{endpoint.pk}").status_code == 204
    assert admin_client.get(f"{URL}/{endpoint.pk}").status_code == 404
    actions = set(AuditEvent.objects.for_org(organization).values_list("action", flat=True))
    assert {"webhook.updated", "webhook.deleted"} <= actions


def test_rotating_the_secret_shows_the_new_one_once(admin_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    old = endpoint.secret
    body = admin_client.post(f"{URL}/{endpoint.pk}/rotate-secret").json()
    assert body["secret"].startswith("whsec_") and body["secret"] != old
    endpoint.refresh_from_db()
    assert endpoint.secret == body["secret"] and endpoint.previous_secret == old
    assert endpoint.previous_secret_expires_at is not None


def test_a_test_event_reaches_the_receiver_signed(admin_client, organization, receiver, run_on_commit):
    endpoint_id = _create(admin_client, receiver.url).json()["id"]
    endpoint = WebhookEndpoint.objects.for_org(organization).get(pk=endpoint_id)
    receiver.secrets.append(endpoint.secret)
    response = run_on_commit(lambda: admin_client.post(f"{URL}/{endpoint_id}/test"))
    assert response.status_code == 202
    assert response.json()["event_type"] == "webhook.test"
    (request,) = receiver.received
    assert request.verified and json.loads(request.body)["type"] == "webhook.test"
    delivery = admin_client.get(f"{URL}/{endpoint_id}/deliveries/{response.json()['id']}").json()
    assert delivery["status"] == "succeeded" and delivery["attempts"][0]["status_code"] == 200
    assert delivery["payload"]["data"]["endpoint_id"] == endpoint_id


def test_a_disabled_endpoint_cannot_be_tested(admin_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization, enabled=False)
    response = admin_client.post(f"{URL}/{endpoint.pk}/test")
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"


def test_deliveries_are_listed_newest_first_with_a_cursor(admin_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    for n in range(1, 6):
        WebhookDeliveryFactory(endpoint=endpoint, sequence=n)
    WebhookDeliveryFactory(endpoint=endpoint, sequence=6, status=DeliveryStatus.FAILED)
    WebhookDeliveryFactory(organization=organization)  # another endpoint's
    first = admin_client.get(f"{URL}/{endpoint.pk}/deliveries", {"page_size": 4}).json()
    assert [d["sequence"] for d in first["results"]] == [6, 5, 4, 3]
    second = admin_client.get(first["next"]).json()
    assert [d["sequence"] for d in second["results"]] == [2, 1] and second["next"] is None
    failed = admin_client.get(f"{URL}/{endpoint.pk}/deliveries", {"status": "failed"}).json()
    assert [d["sequence"] for d in failed["results"]] == [6]
    assert admin_client.get(f"{URL}/{endpoint.pk}/deliveries", {"status": "nope"}).status_code == 400


def test_a_delivery_is_redelivered_through_the_api(admin_client, organization, receiver, run_on_commit):
    endpoint = WebhookEndpointFactory(organization=organization, url=receiver.url)
    receiver.secrets.append(endpoint.secret)
    delivery = WebhookDeliveryFactory(endpoint=endpoint, status=DeliveryStatus.FAILED, attempt_count=5)
    response = run_on_commit(lambda: admin_client.post(f"{URL}/{endpoint.pk}/deliveries/{delivery.pk}/redeliver"))
    assert response.status_code == 202
    (request,) = receiver.received
    assert request.verified and request.headers["webhook-id"] == f"msg_{delivery.event_id}"
    assert request.body == delivery.body
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 1
    assert AuditEvent.objects.for_org(organization).filter(action="webhook.redelivered").exists()


def test_a_delivery_of_another_endpoint_is_not_found_under_this_one(admin_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    other = WebhookDeliveryFactory(organization=organization)
    assert admin_client.get(f"{URL}/{endpoint.pk}/deliveries/{other.pk}").status_code == 404
    assert admin_client.post(f"{URL}/{endpoint.pk}/deliveries/{other.pk}/redeliver").status_code == 404
    assert WebhookDelivery.objects.for_org(organization).get(pk=other.pk).status == DeliveryStatus.SUCCEEDED


def test_members_and_api_keys_are_refused(member_client, api_key_client, organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    assert member_client.get(URL).status_code == 403
    for call in (
        lambda: api_key_client.get(URL),
        lambda: api_key_client.get(f"{URL}/{endpoint.pk}"),
        lambda: _create(api_key_client, "https://example.com/"),
    ):
        response = call()
        assert response.status_code == 403
        assert response.json()["error"]["details"]["reason"] == "api_key_not_allowed"


def test_an_organization_has_a_limited_number_of_endpoints(admin_client, organization, receiver, settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION = 1
    assert _create(admin_client, receiver.url).status_code == 201
    assert _create(admin_client, receiver.url).status_code == 409
