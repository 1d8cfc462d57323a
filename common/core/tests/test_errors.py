import pytest
from django.test import Client


def _assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.django_db
def test_unknown_api_url_answers_404_in_the_common_error_format(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    _assert_error_shape(response.json(), "not_found")


@pytest.mark.django_db
def test_wrong_method_answers_405_in_the_common_error_format(member_client):
    response = member_client.delete("/api/v1/me")
    assert response.status_code == 405
    _assert_error_shape(response.json(), "method_not_allowed")


@pytest.mark.django_db
def test_unauthenticated_request_answers_401_in_the_common_error_format(anon_client):
    response = anon_client.get("/api/v1/me")
    assert response.status_code == 401
    _assert_error_shape(response.json(), "not_authenticated")


@pytest.mark.django_db
def test_malformed_json_answers_400_parse_error(member_client):
    response = member_client.patch("/api/v1/me", data="{not json", content_type="application/json")
    assert response.status_code == 400
    _assert_error_shape(response.json(), "parse_error")


@pytest.mark.django_db
def test_field_errors_are_reported_in_details(member_client):
    response = member_client.patch("/api/v1/me", data={"full_name": "x" * 500}, format="json")
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "validation_error")
    assert "full_name" in body["error"]["details"]


@pytest.mark.django_db
def test_crash_answers_500_in_the_common_error_format_with_request_id(settings):
    settings.ROOT_URLCONF = "common.core.tests.crash_urls"
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/crash", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 500
    body = response.json()
    _assert_error_shape(body, "server_error")
    assert body["error"]["details"]["request_id"] == "req-123"


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-1").headers["X-Request-ID"] == "abc-1"
    generated = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces").headers["X-Request-ID"]
    assert len(generated) == 32
