"""Usage metering other apps call without knowing about API keys.

The chatbot app calls `check_llm_token_quota(request_auth=request.auth)` before it asks a provider and
`record_llm_tokens(request_auth=request.auth, tokens=n)` after the answer. Both do nothing unless the
request was made with an API key.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from apps.api_keys import limits
from apps.api_keys.principal import APIKeyPrincipal
from apps.api_keys.validators import enforce_token_quota


def _principal(request_auth: Any) -> APIKeyPrincipal | None:
    return request_auth if isinstance(request_auth, APIKeyPrincipal) else None


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
