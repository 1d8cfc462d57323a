"""The OpenAPI schema documents the OpenAI-compatible endpoints under their own tag, with OpenAI's error shape."""

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_the_openai_compatible_endpoints_are_in_the_schema_under_their_own_tag(client):
    schema = client.get("/api/schema/?format=json").json()
    validate(schema)
    completions = schema["paths"]["/openai/v1/chat/completions"]["post"]
    assert completions["tags"] == ["OpenAI-compatible"]
    assert completions["x-required-scopes"] == ["chat"]
    assert set(completions["responses"]) >= {"200", "400", "401", "403", "404", "429"}
    error = completions["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][error]["properties"]) == {"error"}
    detail_ref = schema["components"]["schemas"][error]["properties"]["error"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][detail_ref]["properties"]) == {"message", "type", "param", "code"}
    assert schema["paths"]["/openai/v1/models"]["get"]["tags"] == ["OpenAI-compatible"]
    assert "/openai/v1/models/{id}" in schema["paths"]
