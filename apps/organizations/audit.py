"""The audit log: one registry of actions and one writer every app's services call.

An audit event names the actor kind, the user or API key (or visitor / system job) that acted, the client IP
and the request id, the action (from `AuditAction`) and the target, whose type is derived from its model.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.organizations.actors import Actor
from apps.organizations.models import AuditEvent, Organization


class AuditAction(models.TextChoices):
    ORGANIZATION_CREATED = "organization.created", "Organization created"
    ORGANIZATION_UPDATED = "organization.updated", "Organization renamed"
    ORGANIZATION_DELETED = "organization.deleted", "Organization deleted"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    MEMBER_LEFT = "member.left", "Member left"
    INVITATION_CREATED = "invitation.created", "Invitation sent"
    INVITATION_REVOKED = "invitation.revoked", "Invitation revoked"
    INVITATION_RESENT = "invitation.resent", "Invitation resent"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_UPDATED = "api_key.updated", "API key changed"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    API_KEY_ROTATED = "api_key.rotated", "API key rotated"
    API_LIMITS_UPDATED = "api_limits.updated", "Organization API limits changed"
    BOT_CREATED = "bot.created", "Bot created"
    BOT_UPDATED = "bot.updated", "Bot changed"
    BOT_DELETED = "bot.deleted", "Bot deleted"
    PROVIDER_CREATED = "provider.created", "Provider added"
    PROVIDER_UPDATED = "provider.updated", "Provider changed"
    PROVIDER_DELETED = "provider.deleted", "Provider deleted"
    COLLECTION_CREATED = "collection.created", "Collection created"
    COLLECTION_UPDATED = "collection.updated", "Collection changed"
    COLLECTION_DELETED = "collection.deleted", "Collection deleted"
    DOCUMENT_CREATED = "document.created", "Document added"
    DOCUMENT_DELETED = "document.deleted", "Document deleted"
    DOCUMENT_REINDEXED = "document.reindexed", "Document reindexed"
    WEBHOOK_CREATED = "webhook.created", "Webhook endpoint added"
    WEBHOOK_UPDATED = "webhook.updated", "Webhook endpoint changed"
    WEBHOOK_DELETED = "webhook.deleted", "Webhook endpoint deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated", "Webhook signing secret rotated"
    WEBHOOK_DISABLED = "webhook.disabled", "Webhook endpoint disabled after repeated failures"
    WEBHOOK_REDELIVERED = "webhook.redelivered", "Webhook delivery sent again"
    WEBHOOK_TESTED = "webhook.tested", "Webhook test event sent"
    WIDGET_KEY_ROTATED = "widget.key_rotated", "Widget publishable key rotated"
    WIDGET_IDENTITY_SECRET_ROTATED = "widget.identity_secret_rotated", "Widget identity secret rotated"
    HANDOFF_REQUESTED = "handoff.requested", "Visitor asked for a person"
    HANDOFF_CLAIMED = "handoff.claimed", "Member took over a widget conversation"
    HANDOFF_RELEASED = "handoff.released", "Widget conversation handed back to the bot"
    HANDOFF_RESOLVED = "handoff.resolved", "Widget conversation resolved"


def target_type_of(target: Any) -> str:
    """The stored type of an audit target: its model's name (`chatbot`, `apikey`, `document`, ...)."""
    meta = getattr(target, "_meta", None)
    if meta is None:
        raise TypeError(f"An audit target must be a model instance, not {type(target).__name__}.")
    return str(meta.model_name)


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    target: models.Model | None = None,
    organization: Organization | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event in the organization that owns the target (else `organization`, else the actor's)."""
    event = audit_event(actor=actor, action=action, target=target, organization=organization, data=data)
    event.save(force_insert=True)
    return event


def audit_event(
    *,
    actor: Actor,
    action: AuditAction,
    target: models.Model | None = None,
    organization: Organization | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """The audit event `audit_record` writes, unsaved: for a caller that saves it along with other rows in one round
    trip (common.core.inserts; nothing listens to audit events being saved)."""
    if organization is not None:
        org_id = organization.pk
    elif isinstance(target, Organization):
        org_id = target.pk
    else:
        org_id = getattr(target, "organization_id", None) or actor.organization_id
    if org_id is None:
        raise ValueError("An audit event needs an organization.")
    return AuditEvent(
        organization_id=org_id,
        action=AuditAction(action).value,
        actor_kind=actor.kind.value,
        actor=actor.user,
        actor_key_id=actor.api_key_id,
        actor_label=actor.describe()[:120],
        ip=actor.ip,
        request_id=actor.request_id[:64],
        target_type=target_type_of(target) if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )
