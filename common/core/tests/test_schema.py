import pytest
from openapi_spec_validator import validate


@pytest.mark.django_db
def test_openapi_schema_is_valid_openapi_3(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    validate(schema)
    assert "/api/v1/me" in schema["paths"]


@pytest.mark.django_db
def test_swagger_and_redoc_pages_render(client):
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/redoc/").status_code == 200
