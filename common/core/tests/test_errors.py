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


@pytest.mark.django_db
def test_a_form_body_with_too_many_fields_answers_400_in_the_common_error_format(member_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    body = "&".join(f"field{n}=x" for n in range(10))
    response = member_client.patch("/api/v1/me", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    _assert_error_shape(response.json(), "too_many_fields")


@pytest.mark.django_db
def test_a_multipart_body_over_the_memory_limit_answers_413_in_the_common_error_format(member_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = member_client.patch("/api/v1/me", data={"full_name": "x" * 500}, format="multipart")
    assert response.status_code == 413
    _assert_error_shape(response.json(), "request_too_large")


@pytest.mark.django_db
def test_a_request_django_refuses_before_the_api_answers_400_in_the_common_error_format(client):
    response = client.get("/api/v1/me", HTTP_HOST="unknown-host.example")
    assert response.status_code == 400
    _assert_error_shape(response.json(), "bad_request")
