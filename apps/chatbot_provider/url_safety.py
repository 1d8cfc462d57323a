"""Which base URLs Docent will call: a tenant types the URL, so it must not aim Docent at internal hosts."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from apps.chatbot_provider.errors import ProviderAddressBlocked
from common.security.urls import address_allowed, resolve_host

_RESOLVED: dict[tuple[str, int], tuple[float, list[Any]]] = {}
_RESOLVED_TTL_SECONDS = 10.0


def _resolve(host: str, port: int) -> list[Any]:
    """The host's addresses, remembered for a few seconds (a chat turn should not wait on DNS each time)."""
    now = time.monotonic()
    cached = _RESOLVED.get((host, port))
    if cached is not None and now - cached[0] < _RESOLVED_TTL_SECONDS:
        return cached[1]
    addresses = resolve_host(host, port)
    if len(_RESOLVED) > 1024:
        _RESOLVED.clear()
    _RESOLVED[(host, port)] = (now, addresses)
    return addresses


def check_base_url(url: str) -> None:
    """Refuse a base URL Docent must not call: another scheme than http(s), credentials in the URL, or a host
    that resolves to a non-public address (loopback and private ranges only with
    PROVIDER_ALLOW_PRIVATE_NETWORKS; link-local, such as the cloud metadata service, never).
    Called when a provider is saved and before every outbound call. Raises ProviderAddressBlocked."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ProviderAddressBlocked("The base URL is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderAddressBlocked("The base URL must start with https:// or http:// and name a host.")
    if parts.username or parts.password:
        raise ProviderAddressBlocked("Put the API key in its own field, not in the base URL.")
    host = parts.hostname
    try:
        addresses = _resolve(host, port)
    except OSError:
        raise ProviderAddressBlocked(f"The host {host} cannot be resolved.") from None
    allow_private = bool(getattr(settings, "PROVIDER_ALLOW_PRIVATE_NETWORKS", False))
    blocked = sorted({str(a) for a in addresses if not address_allowed(a, allow_private=allow_private)})
    if not addresses or blocked:
        hint = "" if allow_private else " (a server on a private network needs PROVIDER_ALLOW_PRIVATE_NETWORKS)"
        raise ProviderAddressBlocked(
            f"The host {host} resolves to a non-public address ({', '.join(blocked) or 'none'}){hint}.",
            details={"base_url": [f"{host} resolves to a non-public address."]},
        )
