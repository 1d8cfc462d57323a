"""DRF authentication with API keys: `Authorization: Bearer dk_…` or `X-API-Key: dk_…`.

A Bearer token that does not start with `dk_` is left to the next class (JWT). Every bad key gets the
same 401; a good key is counted against its rate limit and quotas before the view runs.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from apps.api_keys import services, validators
from apps.api_keys.principal import APIKeyPrincipal, APIKeyUser
from common.security.client_ip import client_ip

logger = logging.getLogger(__name__)

REQUEST_ATTR = "api_key"  # set on the Django request for the headers middleware
ADMISSION_ATTR = "api_key_admission"


def raw_key_from(request: Any) -> str | None:
    header = get_authorization_header(request).decode("latin-1").strip()
    parts = header.split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer" and validators.looks_like_api_key(parts[1].strip()):
        return parts[1].strip()
    explicit = request.META.get("HTTP_X_API_KEY")
    if explicit is not None:
        return str(explicit).strip()
    return None


class APIKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[APIKeyUser, APIKeyPrincipal] | None:
        raw = raw_key_from(request)
        if raw is None:
            return None
        now = timezone.now()
        django_request = request._request
        try:
            # Every request made with a valid key counts, including those the view will refuse.
            principal, admission = validators.authenticate_and_admit(
                raw, now=now, organization_ref=django_request.META.get("HTTP_X_ORGANIZATION")
            )
            setattr(django_request, REQUEST_ATTR, principal)
        except RedisError:
            logger.exception("API keys cannot be checked: Redis does not answer")
            raise validators.LimitsUnavailable() from None
        setattr(django_request, ADMISSION_ATTR, admission)
        validators.raise_if_refused(admission)
        if admission.touch:
            services.api_key_touch(api_key_id=principal.id, ip=client_ip(django_request) or None, now=now)
        validators.check_view_accepts_api_keys((getattr(request, "parser_context", None) or {}).get("view"))
        return APIKeyUser(principal), principal

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
