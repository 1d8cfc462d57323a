"""Fetching a URL without server-side request forgery: every hop's host is resolved and checked, the
connection goes to the checked address (no DNS rebinding), redirects are followed by hand, and size and
time are bounded."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

from apps.documents.services.errors import UrlBlocked, UrlFetchFailed, UrlInvalid, UrlTimeout, UrlTooLarge
from common.security.urls import address_allowed

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    final_url: str


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address_allowed(address, allow_loopback=bool(settings.URL_FETCH_ALLOW_LOOPBACK))


def validate_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlInvalid(f"Only http and https URLs can be imported (got {url[:200]!r}).")
    if parts.username or parts.password:
        raise UrlInvalid("URLs with credentials are not accepted.")


def resolve_safe(host: str, port: int) -> str:
    """The first resolved address of host, when every resolved address is public (or allowed loopback)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlFetchFailed(f"The host {host} cannot be resolved.") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    blocked = [str(a) for a in addresses if not _address_allowed(a)]
    if not addresses or blocked:
        raise UrlBlocked(
            f"The host {host} resolves to a non-public address ({', '.join(blocked) or 'none'}).",
            details={"host": host, "addresses": blocked},
        )
    return str(addresses[0])


def fetch_url(url: str, *, max_bytes: int, timeout: float) -> Fetched:
    validate_url(url)
    deadline = time.monotonic() + timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(current)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = resolve_safe(host, port)
        literal = f"[{address}]" if ":" in address else address
        target = f"{parts.scheme}://{literal}:{port}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        remaining = max(0.1, deadline - time.monotonic())
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(remaining), follow_redirects=False, trust_env=False) as client,
                client.stream(
                    "GET",
                    target,
                    headers={"Host": host_header, "User-Agent": "Docent/1.0 (document import)", "Accept": "*/*"},
                    extensions={"sni_hostname": host},
                ) as response,
            ):
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    if not location:
                        raise UrlFetchFailed("The URL redirects without a location.")
                    current = urljoin(current, location)
                    validate_url(current)
                    continue
                if response.status_code >= 400:
                    raise UrlFetchFailed(
                        f"The URL answered HTTP {response.status_code}.", details={"status": response.status_code}
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise UrlTooLarge(f"The URL's content is {int(declared):,} bytes; the limit is {max_bytes:,}.")
                chunks: list[bytes] = []
                received = 0
                for piece in response.iter_bytes():
                    received += len(piece)
                    if received > max_bytes:
                        raise UrlTooLarge(f"The URL's content is over the {max_bytes:,}-byte limit.")
                    if time.monotonic() > deadline:
                        raise UrlTimeout(f"The URL did not finish answering within {timeout:g} seconds.")
                    chunks.append(piece)
                return Fetched(b"".join(chunks), response.headers.get("content-type", ""), current)
        except httpx.TimeoutException:
            raise UrlTimeout(f"The URL did not answer within {timeout:g} seconds.") from None
        except httpx.HTTPError as exc:
            raise UrlFetchFailed(f"The URL could not be fetched: {type(exc).__name__}.") from None
    raise UrlFetchFailed(f"The URL redirects more than {MAX_REDIRECTS} times.")
