"""The widget's door and the agent API are in the OpenAPI schema (so the fuzz and conformance suites cover them)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    return client.get("/api/schema/?format=json").json()


def test_every_widget_and_handoff_operation_is_documented(schema):
    paths = schema["paths"]
    for path, method in [
        ("/widget/v1/session", "post"),
        ("/widget/v1/conversation", "get"),
        ("/widget/v1/messages", "post"),
        ("/widget/v1/messages/{message_id}/feedback", "post"),
        ("/widget/v1/handoff", "post"),
        ("/api/v1/handoffs", "get"),
        ("/api/v1/handoffs/{conversation_id}", "get"),
        ("/api/v1/handoffs/{conversation_id}/claim", "post"),
        ("/api/v1/handoffs/{conversation_id}/messages", "post"),
        ("/api/v1/handoffs/{conversation_id}/release", "post"),
        ("/api/v1/handoffs/{conversation_id}/resolve", "post"),
        ("/api/v1/bots/{id}/widget/publishable-key", "post"),
        ("/api/v1/bots/{id}/widget/identity-secret", "post"),
    ]:
        assert method in paths.get(path, {}), (method, path)


def test_the_send_stream_describes_each_event_and_refusals_are_json(schema):
    send = schema["paths"]["/widget/v1/messages"]["post"]
    stream = send["responses"]["200"]["content"]["text/event-stream"]
    assert stream["schema"]["properties"]["event"]["enum"] == ["message", "token", "citations", "done", "error"]
    assert set(stream["x-sse-events"]) == {"message", "token", "citations", "done", "error"}
    assert set(send["responses"]["202"]["content"]) == {"application/json"}
    for code in ("400", "401", "403", "429"):
        assert set(send["responses"][code]["content"]) == {"application/json"}, code
