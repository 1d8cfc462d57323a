"""Writes of the api_keys app: issue, change, revoke and rotate keys; record use; flush usage counters."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.apps import apps as django_apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.api_keys import limits
from apps.api_keys.cache import bump_generation, forget_organization_limits
from apps.api_keys.models import ALL_SCOPES, APIKey, APIKeyUsageDaily, OrganizationAPILimits
from apps.api_keys.validators import PREFIX_BYTES, SECRET_BYTES
from apps.organizations.actors import Actor
from apps.organizations.audit import AuditAction, audit_record
from apps.organizations.models import Organization
from common.core.errors import Conflict, NotFound, ValidationFailed
from common.events import EventType, emit
from common.security.tokens import HASH_VERSION, token_hash

LIMIT_FIELDS = (
    "rate_limit_per_minute",
    "daily_request_quota",
    "monthly_request_quota",
    "daily_token_quota",
    "monthly_token_quota",
)
ORG_LIMIT_FIELDS = ("daily_request_quota", "monthly_request_quota", "daily_token_quota", "monthly_token_quota")


@dataclass(frozen=True)
class IssuedKey:
    api_key: APIKey
    plaintext: str  # shown once, never stored


def _new_secret(prefix: str) -> tuple[str, str]:
    plaintext = f"dk_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return plaintext, token_hash(plaintext)


def _new_prefix() -> str:
    while True:
        prefix = secrets.token_hex(PREFIX_BYTES)
        if not APIKey.objects.unscoped().filter(prefix=prefix).exists():
            return prefix


# The models a restriction names, looked up by label so this app imports neither chatbot nor documents.
RESTRICTION_TARGETS = {"bot_ids": ("chatbot", "Chatbot"), "collection_ids": ("documents", "Collection")}


def restriction_models() -> dict[str, Any]:
    """`bot_ids` / `collection_ids` → the model they reference, or None while that app has no such model."""
    found: dict[str, Any] = {}
    for field, (app_label, model_name) in RESTRICTION_TARGETS.items():
        try:
            found[field] = django_apps.get_model(app_label, model_name)
        except LookupError:
            found[field] = None
    return found


def _clean_restriction(*, organization: Organization, field: str, ids: list[UUID] | None) -> list[UUID]:
    """The ids, once each, all belonging to this organization (else a field error)."""
    wanted = list(dict.fromkeys(ids or []))
    model = restriction_models()[field]
    if not wanted or model is None:
        return wanted
    known = set(model.objects.for_org(organization).filter(pk__in=wanted).values_list("pk", flat=True))
    unknown = [str(i) for i in wanted if i not in known]
    if unknown:
        noun = field.removesuffix("_ids")
        raise ValidationFailed(details={field: [f"Unknown {noun}: {i}" for i in unknown]})
    return wanted


def _clean_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValidationFailed(details={"scopes": [f"Unknown scope: {s}" for s in unknown]})
    return sorted(set(scopes))


def _invalidate(prefix: str) -> None:
    # Now (this process, and tests that never commit) and again after commit (closes the race with a
    # request that read the row before the commit).
    bump_generation([prefix])
    transaction.on_commit(lambda: bump_generation([prefix]))


@transaction.atomic
def api_key_create(
    *,
    organization: Organization,
    actor: Actor,
    name: str,
    scopes: list[str],
    bot_ids: list[UUID] | None = None,
    collection_ids: list[UUID] | None = None,
    expires_at: datetime | None = None,
    **key_limits: int | None,
) -> IssuedKey:
    unknown = set(key_limits) - set(LIMIT_FIELDS)
    if unknown:
        raise ValidationFailed(details={"limits": [f"Unknown limit: {f}" for f in sorted(unknown)]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(details={"expires_at": ["The expiry must be in the future."]})
    live = APIKey.objects.for_org(organization).filter(revoked_at__isnull=True).count()
    if live >= settings.API_KEY_MAX_PER_ORGANIZATION:
        raise Conflict(f"An organization can have at most {settings.API_KEY_MAX_PER_ORGANIZATION} active keys.")
    prefix = _new_prefix()
    plaintext, digest = _new_secret(prefix)
    api_key = APIKey.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        secret_hash=digest,
        hash_version=HASH_VERSION,
        last_four=plaintext[-4:],
        scopes=_clean_scopes(scopes),
        bot_ids=_clean_restriction(organization=organization, field="bot_ids", ids=bot_ids),
        collection_ids=_clean_restriction(organization=organization, field="collection_ids", ids=collection_ids),
        expires_at=expires_at,
        created_by=actor.user,
        **key_limits,
    )
    _invalidate(prefix)  # a probe may have cached this prefix as unknown
    audit_record(
        actor=actor,
        action=AuditAction.API_KEY_CREATED,
        target=api_key,
        data={"name": api_key.name, "prefix": api_key.prefix, "scopes": api_key.scopes},
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def _get_for_update(*, organization: Organization, api_key_id: UUID) -> APIKey:
    api_key = APIKey.objects.for_org(organization).select_for_update().filter(pk=api_key_id).first()
    if api_key is None:
        raise NotFound("API key not found.")
    return api_key


@transaction.atomic
def api_key_update(*, organization: Organization, actor: Actor, api_key_id: UUID, **changes: Any) -> APIKey:
    api_key = _get_for_update(organization=organization, api_key_id=api_key_id)
    allowed = {"name", "scopes", "bot_ids", "collection_ids", "expires_at", *LIMIT_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(details={f: ["This field cannot be changed."] for f in sorted(unknown)})
    if api_key.revoked_at is not None:
        raise Conflict("A revoked key cannot be changed.")
    if "scopes" in changes:
        changes["scopes"] = _clean_scopes(changes["scopes"])
    if changes.get("expires_at") is not None and changes["expires_at"] <= timezone.now():
        raise ValidationFailed(details={"expires_at": ["The expiry must be in the future."]})
    for field in ("bot_ids", "collection_ids"):
        if field in changes:
            changes[field] = _clean_restriction(organization=organization, field=field, ids=changes[field])
    for field, value in changes.items():
        setattr(api_key, field, value)
    api_key.save(update_fields=[*changes, "updated_at"])
    _invalidate(api_key.prefix)
    audit_record(
        actor=actor,
        action=AuditAction.API_KEY_UPDATED,
        target=api_key,
        data={"name": api_key.name, "prefix": api_key.prefix, "fields": sorted(changes)},
    )
    return api_key


@transaction.atomic
def api_key_revoke(*, organization: Organization, actor: Actor, api_key_id: UUID) -> APIKey:
    api_key = _get_for_update(organization=organization, api_key_id=api_key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.API_KEY_REVOKED,
            target=api_key,
            data={"name": api_key.name, "prefix": api_key.prefix},
        )
        emit(
            EventType.API_KEY_REVOKED,
            organization=organization,
            payload={"api_key_id": str(api_key.pk), "prefix": api_key.prefix, "name": api_key.name},
        )
    _invalidate(api_key.prefix)
    return api_key


@transaction.atomic
def api_key_rotate(*, organization: Organization, actor: Actor, api_key_id: UUID) -> IssuedKey:
    """A new secret for the same key (same prefix, scopes, limits, usage); the old secret stops working."""
    api_key = _get_for_update(organization=organization, api_key_id=api_key_id)
    if api_key.revoked_at is not None:
        raise Conflict("A revoked key cannot be rotated.")
    plaintext, digest = _new_secret(api_key.prefix)
    api_key.secret_hash = digest
    api_key.hash_version = HASH_VERSION
    api_key.last_four = plaintext[-4:]
    api_key.save(update_fields=["secret_hash", "hash_version", "last_four", "updated_at"])
    _invalidate(api_key.prefix)
    audit_record(
        actor=actor,
        action=AuditAction.API_KEY_ROTATED,
        target=api_key,
        data={"name": api_key.name, "prefix": api_key.prefix},
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def api_key_touch(*, api_key_id: UUID, ip: str | None, now: datetime) -> None:
    """Record last use (called at most once a minute per key by the authentication class)."""
    APIKey.objects.unscoped().filter(pk=api_key_id).update(last_used_at=now, last_used_ip=ip or None)


@transaction.atomic
def organization_api_limits_update(
    *, organization: Organization, actor: Actor, **quotas: int | None
) -> OrganizationAPILimits:
    unknown = set(quotas) - set(ORG_LIMIT_FIELDS)
    if unknown:
        raise ValidationFailed(details={f: ["Unknown quota."] for f in sorted(unknown)})
    row, _ = OrganizationAPILimits.objects.for_org(organization).get_or_create(organization=organization)
    for field, value in quotas.items():
        setattr(row, field, value)
    row.save()
    prefixes = list(APIKey.objects.for_org(organization).values_list("prefix", flat=True))
    bump_generation(prefixes)
    forget_organization_limits(organization.pk)
    transaction.on_commit(lambda: bump_generation(prefixes))
    transaction.on_commit(lambda: forget_organization_limits(organization.pk))
    audit_record(actor=actor, action=AuditAction.API_LIMITS_UPDATED, target=organization, data=dict(quotas))
    return row


def usage_flush(*, days: list[date] | None = None) -> int:
    """Copy the live counters of these UTC days (default: the last 7, so a week-long outage of the
    scheduler loses nothing) into APIKeyUsageDaily.

    Sets the counts (never adds), so running it twice, or concurrently, leaves the same rows.
    """
    today = timezone.now().date()
    days = days if days is not None else [today - timedelta(days=n) for n in range(6, -1, -1)]
    written = 0
    for day in days:
        counters = limits.day_counters(day)
        if not counters:
            continue
        existing = set(
            APIKey.objects.unscoped().filter(pk__in=[key_id for key_id, _ in counters]).values_list("pk", flat=True)
        )
        rows = [
            APIKeyUsageDaily(
                api_key_id=key_id,
                organization_id=org_id,
                date=day,
                requests=values["requests"],
                tokens=values["tokens"],
                errors=values["errors"],
            )
            for (key_id, org_id), values in counters.items()
            if key_id in existing
        ]
        APIKeyUsageDaily.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["api_key", "date"],
            update_fields=["requests", "tokens", "errors", "updated_at"],
        )
        written += len(rows)
    return written
