"""Property-based fuzzing of the whole REST API against its own OpenAPI schema (schemathesis).

The schema is loaded from the Django application in-process (WSGI, no network) and every operation is
called with generated data, valid and invalid, as an organization owner signed in with a JWT and as an
API key holding every scope. Every response must be a documented status with a documented content type
and a body that matches the schema, and none may be a server error.

FUZZ_EXAMPLES sets the examples per operation (small by default so the suite stays fast; `make fuzz`
raises it). Generation is derandomized: a run is reproducible.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.api_keys.models import ALL_SCOPES
from apps.api_keys.tests.factories import APIKeyFactory
from apps.chatbot.models import Message
from apps.chatbot.tests.factories import ChatbotFactory, ConversationFactory, MessageFactory
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
from apps.documents.tests.factories import ChunkFactory, CollectionFactory, DocumentFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import InvitationFactory, MembershipFactory, OrganizationFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# The credentials are the test's own (a JWT or an API key), not generated ones.
schema.config.generation.update(with_security_parameters=False, max_examples=EXAMPLES, deterministic=True)
# The coverage phase (boundary values of every field, unexpected methods: hundreds of cases per operation,
# whatever FUZZ_EXAMPLES says) runs in `make fuzz`; `make test` keeps to the bounded random examples.
schema.config.phases.coverage.enabled = os.environ.get("FUZZ_COVERAGE", "0") == "1"
# Each hypothesis example reuses the test's fixtures on purpose: the seeded organization is the world the
# operation is fuzzed in (a row one example deletes stays deleted for the next ones of that operation).
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` spelled as JSON Schema, so that a plain validator reads the components."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


COMPONENTS = _json_schema(schema.raw_schema["components"])


def _sse_events(body: str) -> Iterator[tuple[str, str]]:
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            yield fields["event"], fields.get("data", "")


@schemathesis.check
def sse_event_data_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
    """Each Server-Sent Event's `data` matches the component that `x-sse-events` names for the event (the
    stream's schema can only say that `data` is a string)."""
    if "text/event-stream" not in (response.headers.get("content-type") or [""])[0]:
        return None
    declared = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    events = declared.get("content", {}).get("text/event-stream", {}).get("x-sse-events", {})
    if not events:
        events = {"error": {"$ref": "#/components/schemas/ErrorDetail"}}
    for name, data in _sse_events(response.content.decode()):
        assert name in events, f"undeclared event {name!r}"
        validator = jsonschema.Draft7Validator({**events[name], "components": COMPONENTS})
        errors = [error.message for error in validator.iter_errors(json.loads(data))]
        assert not errors, f"event {name!r}: {errors}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    sse_event_data_conformance,
]


@dataclass
class World:
    """An organization with one of everything, so that generated requests can reach real rows."""

    headers: dict[str, str]
    ids: dict[str, str]


def _loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated URLs (provider base URLs, documents by URL) must never leave this machine: names other than
    localhost do not resolve and connections go to loopback addresses only."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(host.decode() if isinstance(host, bytes) else host):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if not _loopback(host):
            raise ConnectionRefusedError(f"no outbound connections while fuzzing ({host})")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Django closes "old" connections around each request; the test's transaction must outlive the requests,
    as Django's own test client arranges."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _seed() -> tuple[Any, Any, dict[str, str]]:
    organization = OrganizationFactory()
    owner = MembershipFactory(organization=organization, role=Role.OWNER).user
    member = MembershipFactory(organization=organization, role=Role.MEMBER)
    provider = ChatbotProviderFactory(organization=organization, kind="offline")
    collection = CollectionFactory(organization=organization)
    document = DocumentFactory(organization=organization, collection=collection, status="ready")
    ChunkFactory(organization=organization, document=document)
    bot = ChatbotFactory(organization=organization)
    bot.collections.add(collection)
    conversation = ConversationFactory(organization=organization, bot=bot, user=owner)
    MessageFactory(organization=organization, conversation=conversation, role=Message.Role.USER)
    answer = MessageFactory(organization=organization, conversation=conversation, role=Message.Role.ASSISTANT)
    invitation = InvitationFactory(organization=organization, invited_by=owner)
    other_key = APIKeyFactory(organization=organization, scopes=list(ALL_SCOPES))
    ids = {
        "bots": str(bot.pk),
        "collections": str(collection.pk),
        "documents": str(document.pk),
        "conversations": str(conversation.pk),
        "messages": str(answer.pk),
        "providers": str(provider.pk),
        "members": str(member.pk),
        "invitations": str(invitation.pk),
        "api-keys": str(other_key.pk),
    }
    return organization, owner, ids


@pytest.fixture
def owner_world(db: None, no_outbound_network: None, keep_test_connection: None) -> World:
    organization, owner, ids = _seed()
    token = RefreshToken.for_user(owner).access_token
    return World(headers={"Authorization": f"Bearer {token}", "X-Organization": str(organization.pk)}, ids=ids)


@pytest.fixture
def api_key_world(db: None, no_outbound_network: None, keep_test_connection: None) -> World:
    organization, _owner, ids = _seed()
    key = APIKeyFactory(organization=organization, scopes=list(ALL_SCOPES), rate_limit_per_minute=1_000_000)
    # The key's own organization in X-Organization (the header is declared on every scoped operation): generated
    # values would only ever reach the 401 of a key used for another organization.
    return World(
        headers={"Authorization": f"Bearer {key.plaintext}", "X-Organization": str(key.organization_id)}, ids=ids
    )


def _aim_at_seeded_rows(case: Any, ids: dict[str, str]) -> None:
    """Two cases in three name the seeded rows instead of random ids (which reach only the 404 path).

    The choice hangs on all the generated values (not only the path's: the coverage phase varies the body under
    one fixed path), so a derandomized run makes the same choices every time."""
    if not case.path_parameters:
        return
    generated = repr((sorted(case.path_parameters.items()), case.query, case.body))
    if zlib.crc32(generated.encode("utf-8", "surrogatepass")) % 3 == 0:
        return
    segments = case.operation.path.strip("/").split("/")
    for index, segment in enumerate(segments):
        name = segment.strip("{}")
        if segment.startswith("{") and name in case.path_parameters and index > 0:
            seeded = ids.get(segments[index - 1])
            value = case.path_parameters[name]
            # A valid value: a UUID, or 36 characters of the lookup pattern some routes declare instead.
            if seeded is not None and (_is_uuid(value) or (isinstance(value, str) and len(value) == 36)):
                case.path_parameters[name] = seeded


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _run(case: Any, world: World) -> None:
    _aim_at_seeded_rows(case, world.ids)
    case.call_and_validate(headers=world.headers, checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_owner_with_jwt(case: Any, owner_world: World) -> None:
    _run(case, owner_world)


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_api_key_with_every_scope(case: Any, api_key_world: World) -> None:
    _run(case, api_key_world)
