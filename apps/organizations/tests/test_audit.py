"""The audit log names who acted (user, API key, system), from where (IP, request id), and the target's model."""

from __future__ import annotations

import pytest

from apps.documents.models import Collection
from apps.documents.tests.factories import DocumentFactory
from apps.organizations.actors import Actor, ActorKind
from apps.organizations.audit import AuditAction, audit_record, target_type_of
from apps.organizations.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


def test_a_document_deleted_with_an_api_key_is_audited_naming_the_key_ip_and_request(organization, make_api_key_client):
    document = DocumentFactory(collection__organization=organization)
    client = make_api_key_client(organization, scopes=["documents:write"])
    response = client.delete(f"/api/v1/documents/{document.pk}", HTTP_X_REQUEST_ID="req-delete-1")
    assert response.status_code == 204, response.content
    event = AuditEvent.objects.for_org(organization).get(action=AuditAction.DOCUMENT_DELETED)
    assert event.actor_kind == ActorKind.API_KEY
    assert event.actor_key_id == client.api_key.pk
    assert event.actor is None
    assert event.actor_label == f"API key dk_{client.api_key.prefix}"
    assert event.ip == "127.0.0.1"
    assert event.request_id == "req-delete-1"
    assert (event.target_type, event.target_id) == ("document", str(document.pk))


def test_a_collection_created_by_a_member_is_audited_naming_the_user(organization, make_member_client):
    client = make_member_client(organization, role=Role.ADMIN)
    response = client.post("/api/v1/collections", {"name": "Manuals"}, format="json")
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.for_org(organization).get(action=AuditAction.COLLECTION_CREATED)
    assert event.actor_kind == ActorKind.USER
    assert event.actor == client.user
    assert event.actor_key_id is None
    assert event.target_type == "collection"
    assert event.target_id == str(Collection.objects.for_org(organization).get(name="Manuals").pk)
    assert event.request_id == response["X-Request-ID"]


def test_a_system_action_is_audited_as_the_system_with_its_job_name(organization):
    audit_record(
        actor=Actor.system(organization=organization, label="nightly cleanup"),
        action=AuditAction.ORGANIZATION_UPDATED,
        target=organization,
    )
    event = AuditEvent.objects.for_org(organization).get()
    assert (event.actor_kind, event.actor, event.actor_label) == (ActorKind.SYSTEM, None, "system (nightly cleanup)")
    assert event.target_type == "organization"


def test_an_unknown_action_or_a_target_that_is_no_model_is_refused(organization):
    actor = Actor.system(organization=organization)
    with pytest.raises(ValueError):
        audit_record(actor=actor, action="document.exploded", target=organization)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        target_type_of("not a model")
    assert not AuditEvent.objects.for_org(organization).exists()
