"""The OpenAPI schema documents the API-key schemes and, per operation, the scope a key needs."""

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    body = client.get("/api/schema/?format=json").json()
    validate(body)
    return body


def _schemes(operation):
    return {name for requirement in operation.get("security", []) for name in requirement}


def test_the_api_key_schemes_are_documented(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyBearer"]["scheme"] == "bearer"
    assert schemes["ApiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "API key in the X-API-Key header.",
    }


def test_a_scoped_operation_names_its_scope_and_accepts_api_keys(schema):
    operation = schema["paths"]["/api/v1/usage"]["get"]
    assert operation["x-required-scopes"] == ["analytics:read"]
    assert "`analytics:read`" in operation["description"]
    assert {"ApiKeyBearer", "ApiKeyHeader"} <= _schemes(operation)


def test_key_management_does_not_offer_api_key_security(schema):
    for path in ("/api/v1/api-keys", "/api/v1/api-keys/{api_key_id}/revoke"):
        assert schema["paths"][path]
        for operation in schema["paths"][path].values():
            assert not {"ApiKeyBearer", "ApiKeyHeader"} & _schemes(operation)
            assert "x-required-scopes" not in operation


def test_a_scoped_operation_documents_rate_limit_headers_and_429(schema):
    responses = schema["paths"]["/api/v1/usage"]["get"]["responses"]
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(responses["200"]["headers"])
    assert "Retry-After" in responses["429"]["headers"]
