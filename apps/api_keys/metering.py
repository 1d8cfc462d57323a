"""Usage metering: LLM-token quotas and usage for every actor, and error counts for API keys.

`ActorTokenMeter` implements apps.organizations.metering.TokenMeter and is registered in
ApiKeysConfig.ready(), so apps that spend tokens call `token_quota_check(actor=...)` and
`token_usage_record(actor=..., tokens=...)` there without knowing about API keys. An API key's tokens
count against the key and its organization; a member's, a widget visitor's or a job's against the
organization only (the organization's token quotas are shared by everyone in it, keys included).

The `request_auth` functions are the earlier, key-only entry points (the error counter still uses one).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.api_keys import limits
from apps.api_keys.cache import organization_limits_and_token_usage
from apps.api_keys.principal import APIKeyPrincipal
from apps.api_keys.validators import enforce_organization_token_quota, enforce_token_quota
from apps.organizations.actors import Actor


def _principal(request_auth: Any) -> APIKeyPrincipal | None:
    return request_auth if isinstance(request_auth, APIKeyPrincipal) else None


class ActorTokenMeter:
    """The TokenMeter of this deployment: counters in Redis (Django's cache without it), see ADR 0031."""

    def check(self, actor: Actor) -> None:
        principal = _principal(actor.api_key)
        if principal is not None:
            enforce_token_quota(principal, now=timezone.now())
        elif actor.organization_id is not None:
            now = timezone.now()
            org_limits, used = organization_limits_and_token_usage(actor.organization_id, now=now)
            enforce_organization_token_quota(actor.organization_id, org_limits, now=now, used=used)

    def record(self, actor: Actor, tokens: int) -> None:
        principal = _principal(actor.api_key)
        if principal is not None:
            record_llm_tokens(request_auth=principal, tokens=tokens)
        elif actor.organization_id is not None and tokens > 0:
            limits.add_organization_usage(actor.organization_id, field="tokens", amount=int(tokens), now=timezone.now())


def check_llm_token_quota(*, request_auth: Any) -> None:
    """Raise QuotaExceeded (429, code quota_exceeded) when the key's or organization's token quota is used up."""
    principal = _principal(request_auth)
    if principal is not None:
        enforce_token_quota(principal, now=timezone.now())


def record_llm_tokens(*, request_auth: Any, tokens: int) -> None:
    """Add the LLM tokens an answer used to the key's and organization's daily and monthly counters."""
    principal = _principal(request_auth)
    if principal is not None and tokens > 0:
        limits.add_usage(principal, field="tokens", amount=int(tokens), now=timezone.now(), org_too=True)


def record_error(*, request_auth: Any) -> None:
    """Count one error response (status >= 400) for the key's day."""
    principal = _principal(request_auth)
    if principal is not None:
        limits.add_usage(principal, field="errors", amount=1, now=timezone.now(), org_too=False)
