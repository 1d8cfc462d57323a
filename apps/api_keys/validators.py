"""The rules an API-key request must pass, in order:

1. a well-formed, known, unrevoked, unexpired key of the organization named (if any): else 401, always
   through `authenticate_key`, with one message and a constant-time digest comparison;
2. the key's rate limit and request quotas (`admit_request` / `raise_if_refused`): else 429
   `rate_limited` or `quota_exceeded`; LLM-token quotas via `enforce_token_quota`;
3. an endpoint that accepts keys (`check_view_accepts_api_keys`), the scope it declares
   (`APIKeyPrincipal.has_scope`, asked by apps.organizations.permissions) and the key's bot and
   collection restrictions (`allows_bot` / `allows_collection`): else 403 naming what is missing.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from rest_framework import exceptions

from apps.api_keys import limits
from apps.api_keys.cache import forget_warm, generation_key, load_principal, warm_principal
from apps.api_keys.principal import APIKeyPrincipal, Limits
from common.core.errors import PermissionDeniedError, QuotaExceeded, RateLimited, ServiceUnavailable
from common.security.tokens import token_hash, token_matches

KEY_PREFIX = "dk_"
PREFIX_BYTES = 6  # 12 hex characters: identifies the key, safe to show and log
SECRET_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
KEY_PATTERN = re.compile(r"^dk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")

# Compared against when the prefix is unknown, so that unknown and wrong secrets take the same work.
_UNKNOWN_KEY_HASH = token_hash(f"dk_{'0' * 12}_{secrets.token_urlsafe(SECRET_BYTES)}")


class LimitsUnavailable(ServiceUnavailable):
    """The shared store behind key lookups and limits does not answer: refuse rather than admit unchecked."""

    default_message = "API keys cannot be checked right now. Try again shortly."


class InvalidAPIKey(exceptions.AuthenticationFailed):
    """Every bad key (malformed, unknown, wrong secret, revoked, expired, other organization) looks alike."""

    default_detail = "Invalid API key."
    default_code = "authentication_failed"


def looks_like_api_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX)


def parse_prefix(raw: str) -> str | None:
    match = KEY_PATTERN.match(raw)
    return match.group(1) if match else None


def _organization_matches(principal: APIKeyPrincipal, organization_ref: str | None) -> bool:
    """No header, or one naming the key's own organization (by id or slug; neither is a secret)."""
    if not organization_ref:
        return True
    return organization_ref.strip() in (str(principal.organization.pk), principal.organization.slug)


def authenticate_key(raw: str, *, now: datetime, organization_ref: str | None = None) -> APIKeyPrincipal:
    """The live key `raw` stands for, or InvalidAPIKey. One path and one refusal for every failure."""
    prefix = parse_prefix(raw)
    principal = load_principal(prefix) if prefix is not None else None
    secret_ok = token_matches(raw, principal.secret_hash if principal is not None else _UNKNOWN_KEY_HASH)
    if (
        principal is None
        or not secret_ok
        or not principal.is_usable(now)
        or not _organization_matches(principal, organization_ref)
    ):
        raise InvalidAPIKey()
    return principal


def check_view_accepts_api_keys(view: Any) -> None:
    """Only organization-scoped views (those declaring `required_scopes`) can be reached with a key."""
    if view is not None and not hasattr(view, "required_scopes"):
        raise PermissionDeniedError(
            "API keys cannot use this endpoint; sign in instead.", details={"reason": "api_key_not_allowed"}
        )


def admit_request(principal: APIKeyPrincipal, *, now: datetime) -> limits.Admission:
    """Count the request against the key's window and quotas (a refused request is not counted)."""
    return limits.admit(principal, now=now)


def authenticate_and_admit(
    raw: str, *, now: datetime, organization_ref: str | None = None
) -> tuple[APIKeyPrincipal, limits.Admission]:
    """`authenticate_key` then `admit_request`. For a key whose snapshot this process holds (Redis deployments),
    one Redis round trip that counts the request only if the snapshot is still current; otherwise (first use,
    revoked, rotated or changed since) the full path, which reloads the key and refuses it if it must."""
    prefix = parse_prefix(raw)
    warm = warm_principal(prefix) if prefix is not None else None
    if prefix is not None and warm is not None:
        principal, generation = warm
        if (
            token_matches(raw, principal.secret_hash)
            and principal.is_usable(now)
            and _organization_matches(principal, organization_ref)
        ):
            admission = limits.admit_warm(
                principal, now=now, generation_key=generation_key(prefix), generation=generation
            )
            if admission is not None:
                return principal, admission
            forget_warm(prefix)
    principal = authenticate_key(raw, now=now, organization_ref=organization_ref)
    return principal, admit_request(principal, now=now)


def raise_if_refused(admission: limits.Admission) -> None:
    """RateLimited (429 rate_limited) or QuotaExceeded (429 quota_exceeded) for a refused admission."""
    if admission.admitted:
        return
    if admission.refused_by == "rate_limit":
        raise RateLimited(
            f"Rate limit of {admission.limit} requests per minute exceeded.",
            retry_after=admission.retry_after,
            details={"limit": admission.limit, "retry_after_seconds": admission.retry_after},
        )
    whose = "This API key's" if admission.refused_by.startswith("key") else "The organization's API"
    raise QuotaExceeded(
        f"{whose} request quota is used up.",
        details={
            "quota": admission.refused_by,
            "limit": admission.quota_limit,
            "retry_after_seconds": admission.retry_after,
        },
    )


def _refuse_used_up(names: tuple[str, ...], used: tuple[int, ...], caps: tuple[int, ...]) -> None:
    for name, value, cap in zip(names, used, caps, strict=True):
        if cap > 0 and value >= cap:
            raise QuotaExceeded("The LLM token quota is used up.", details={"quota": name, "limit": cap, "used": value})


def enforce_token_quota(principal: APIKeyPrincipal, *, now: datetime) -> None:
    """QuotaExceeded when the key's or its organization's daily or monthly token quota is used up."""
    caps = (
        principal.limits.daily_tokens,
        principal.limits.monthly_tokens,
        principal.org_limits.daily_tokens,
        principal.org_limits.monthly_tokens,
    )
    _refuse_used_up(limits.TOKEN_QUOTA_NAMES, limits.token_usage(principal, now=now), caps)


def enforce_organization_token_quota(
    organization_id: Any, org_limits: Limits, *, now: datetime, used: tuple[int, int] | None = None
) -> None:
    """QuotaExceeded when the organization's daily or monthly token quota is used up (callers without a key);
    `used`: the tokens used today and this month when already read."""
    caps = (org_limits.daily_tokens, org_limits.monthly_tokens)
    if used is None:
        used = limits.organization_token_usage(organization_id, now=now)
    _refuse_used_up(limits.TOKEN_QUOTA_NAMES[2:], used, caps)
