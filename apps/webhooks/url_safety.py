"""Which webhook URLs Docent will call: an admin types the URL, so it must not aim Docent at internal hosts.

Checked when an endpoint is saved and again before every attempt, which connects to the address that was
checked (a DNS answer that changes between the check and the connection cannot redirect the request).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from apps.webhooks.errors import WebhookURLBlocked, WebhookURLInvalid
from common.security.urls import IPAddress, address_allowed, resolve_host

MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (the Host header and the TLS server name)
    port: int
    address: str  # the checked IP address to connect to
    path: str  # path and query

    @property
    def connect_url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _allowed(address: IPAddress) -> bool:
    return address_allowed(
        address,
        allow_loopback=bool(settings.WEBHOOK_ALLOW_LOOPBACK),
        allow_private=bool(settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS),
    )


def url_validate(url: str) -> None:
    """The URL's form: http(s), a host, no credentials. Raises WebhookURLInvalid with the reason."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookURLInvalid(
            f"The URL is longer than {MAX_URL_LENGTH} characters.", details={"url": ["The URL is too long."]}
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise WebhookURLInvalid("The URL is not a valid URL.", details={"url": ["Not a valid URL."]}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookURLInvalid(
            "The URL must start with https:// or http:// and name a host.",
            details={"url": ["Only http and https URLs with a host are accepted."]},
        )
    if parts.username or parts.password:
        raise WebhookURLInvalid(
            "The URL must not contain a user name or password; deliveries are signed instead.",
            details={"url": ["URLs with credentials are not accepted."]},
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise WebhookURLInvalid("The URL contains spaces or control characters.", details={"url": ["Not a valid URL."]})


def url_resolve_checked(url: str) -> Target:
    """Validate the URL, resolve its host and check every address. Raises WebhookURLInvalid / WebhookURLBlocked."""
    url_validate(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve_host(host, port)
    except OSError:
        raise WebhookURLBlocked(
            f"The host {host} cannot be resolved.", details={"url": [f"{host} cannot be resolved."]}
        ) from None
    blocked = sorted({str(a) for a in addresses if not _allowed(a)})
    if not addresses or blocked:
        raise WebhookURLBlocked(
            f"The host {host} resolves to a non-public address ({', '.join(blocked) or 'none'}); webhooks are "
            "only sent to public addresses.",
            details={"url": [f"{host} resolves to a non-public address."]},
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, address=str(addresses[0]), path=path)
