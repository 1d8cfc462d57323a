"""Typed provider errors: every SDK failure becomes one of these, with a message a person can act on.

`transient = True` marks the errors worth retrying (rate limited, timeout, unavailable); callers such
as the document pipeline and the chat retry loop read that attribute instead of the class list.
"""

from __future__ import annotations

from common.core.errors import DomainError


class ProviderError(DomainError):
    code = "provider_error"
    status_code = 502
    default_message = "The model provider failed."
    transient = False


class ProviderAuthenticationFailed(ProviderError):
    code = "provider_authentication_failed"
    status_code = 502
    default_message = "The model provider rejected the credentials."


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"
    status_code = 503
    default_message = "The model provider is rate limiting requests."
    transient = True


class ProviderTimeout(ProviderError):
    code = "provider_timeout"
    status_code = 504
    default_message = "The model provider did not answer in time."
    transient = True


class ProviderBadRequest(ProviderError):
    code = "provider_bad_request"
    status_code = 502
    default_message = "The model provider refused the request."


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    status_code = 503
    default_message = "The model provider is unavailable."
    transient = True


class ProviderMisconfigured(ProviderError):
    code = "provider_misconfigured"
    status_code = 400
    default_message = "The provider is not configured completely."


class ProviderAddressBlocked(ProviderError):
    code = "provider_address_blocked"
    status_code = 400
    default_message = "The provider's base URL points at an address Docent does not call."
