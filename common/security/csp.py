"""Content-Security-Policy on every response.

The policy is the SECURE_CSP setting, a dict of directive → sources (the shape of Django 6's built-in
CSP support, so moving to `django.middleware.csp` later is a settings change). A view that needs more, like
the API reference pages, widens it for itself with `csp_override`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
_OVERRIDE_ATTR = "_csp_override"


def policy_header(policy: Mapping[str, Sequence[str] | bool]) -> str:
    parts = []
    for directive, sources in policy.items():
        if sources is True:
            parts.append(directive)  # a directive without sources, e.g. upgrade-insecure-requests
        elif sources:
            parts.append(f"{directive} {' '.join(sources)}")
    return "; ".join(parts)


def csp_override(extra: Mapping[str, Sequence[str]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view: its responses get the site policy with these directives replaced."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            response = view(request, *args, **kwargs)
            setattr(response, _OVERRIDE_ATTR, dict(extra))
            return response

        return wrapped

    return decorator


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy: dict[str, Any] = dict(getattr(settings, "SECURE_CSP", {}) or {})
        if not policy or HEADER in response:
            return response
        policy.update(getattr(response, _OVERRIDE_ATTR, {}))
        response[HEADER] = policy_header(policy)
        return response
