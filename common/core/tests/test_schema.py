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


@pytest.fixture
def schema(client, db):
    return client.get("/api/schema/?format=json").json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_every_error_response_has_the_common_error_body(schema):
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in _operations(schema):
        if path.startswith("/openai/v1/"):  # that door answers in OpenAI's error shape (ADR 0050)
            continue
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"]["application/json"]["schema"] == error_ref, (method, path, code)


def test_errors_are_declared_where_they_can_occur(schema):
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        if not path.startswith("/api/v1/auth/"):  # some account endpoints take no credentials
            assert {"401", "403"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= codes, (method, path)
        if "x-required-scopes" in operation:
            assert "429" in codes, (method, path)
    conflicts = {("post", "/api/v1/collections"), ("post", "/api/v1/organizations"), ("post", "/api/v1/api-keys")}
    for method, path in conflicts:
        assert "409" in schema["paths"][path][method]["responses"], (method, path)


def test_urls_that_may_be_absent_are_nullable(schema):
    components = schema["components"]["schemas"]
    for component, field in [("DocumentOutput", "source_url"), ("ProviderOutput", "base_url")]:
        prop = components[component]["properties"][field]
        assert prop["format"] == "uri"
        assert prop["nullable"] is True


def test_the_chat_stream_describes_each_event_and_its_data(schema):
    chat = schema["paths"]["/api/v1/bots/{id}/chat"]["post"]
    stream = chat["responses"]["200"]["content"]["text/event-stream"]
    assert stream["schema"]["properties"]["event"]["enum"] == ["token", "citations", "done", "error"]
    events = stream["x-sse-events"]
    components = schema["components"]["schemas"]
    assert set(components["ChatTokenEvent"]["properties"]) == {"text"}
    assert set(components["ChatCitationsEvent"]["properties"]) == {"citations"}
    assert {"conversation_id", "message_id", "usage", "latency_ms"} <= set(components["ChatDoneEvent"]["properties"])
    assert {"code", "message"} <= set(components["ChatErrorEvent"]["required"])
    for name, ref in events.items():
        assert ref["$ref"].rsplit("/", 1)[1] in components, name
    refused = chat["responses"]["404"]["content"]["text/event-stream"]["schema"]
    assert refused["properties"]["event"]["enum"] == ["error"]
