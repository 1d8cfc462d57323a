"""DRF throttles for the anonymous account endpoints (rates in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from common.security.client_ip import client_ip


class _PerIPThrottle(SimpleRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_ip(request) or "unknown"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignupThrottle(_PerIPThrottle):
    scope = "signup"


class PasswordResetThrottle(_PerIPThrottle):
    scope = "password_reset"
