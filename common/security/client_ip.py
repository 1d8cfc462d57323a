"""The client's address: REMOTE_ADDR, or the X-Forwarded-For hop a trusted proxy vouches for.

Only a request arriving from an address in TRUSTED_PROXY_IPS may name another client; anything else a
client sends in X-Forwarded-For is ignored, so it cannot pick its own rate-limit bucket.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR networks; raises ValueError naming the first malformed one."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _address(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("["):  # [v6]:port
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _is_trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(request: Any) -> str:
    """The address rate limits and audit records use for this request ("" when there is none)."""
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR") or "")
    networks = _trusted(tuple(getattr(settings, "TRUSTED_PROXY_IPS", ())))
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR") or "")
    if not networks or not forwarded or not _is_trusted(_address(remote), networks):
        return remote
    # Each proxy appends the address it received from: the last hop not in our own proxies is the client.
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return remote  # a malformed hop: trust nothing beyond our proxy
        if not _is_trusted(address, networks):
            return str(address)
    first = _address(hops[0]) if hops else None
    return str(first) if first is not None else remote
