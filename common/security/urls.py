"""Outbound URLs without server-side request forgery: which addresses a server may call.

Pure helpers shared by every app that calls a URL a tenant typed (document import, model providers):
`address_allowed` judges one IP address, `resolve_host` lists the addresses a host name resolves to.
"""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_allowed(address: IPAddress, *, allow_loopback: bool = False, allow_private: bool = False) -> bool:
    """True when a server may connect to `address`.

    Public unicast addresses always. Loopback only with `allow_loopback`; private ranges (RFC 1918, unique
    local IPv6, carrier-grade NAT) and loopback with `allow_private`. Link-local addresses (the cloud
    metadata service at 169.254.169.254 among them), multicast, unspecified and reserved addresses never.
    IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:  # before is_reserved: ::1 lies in the reserved ::/8
        return allow_loopback or allow_private
    if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    if address.is_global:
        return True
    return allow_private and (address.is_private or address in _SHARED_ADDRESS_SPACE)


_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself). Raises OSError when it does not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise OSError(f"invalid host name {host!r}") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
