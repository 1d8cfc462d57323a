"""Which addresses a server may call when a tenant typed the URL."""

import ipaddress

import pytest

from common.security.urls import address_allowed


@pytest.mark.parametrize(
    ("address", "default", "loopback", "private"),
    [
        ("93.184.216.34", True, True, True),  # public
        ("2606:4700::1111", True, True, True),  # public IPv6
        ("127.0.0.1", False, True, True),
        ("::1", False, True, True),
        ("10.0.0.5", False, False, True),
        ("172.16.3.4", False, False, True),
        ("192.168.1.20", False, False, True),
        ("100.64.0.9", False, False, True),  # carrier-grade NAT
        ("fd00:ec2::254", False, False, True),  # unique local (AWS metadata over IPv6)
        ("169.254.169.254", False, False, False),  # cloud metadata: never
        ("fe80::1", False, False, False),  # link-local IPv6: never
        ("::ffff:169.254.169.254", False, False, False),  # IPv4-mapped metadata: never
        ("::ffff:10.0.0.5", False, False, True),
        ("0.0.0.0", False, False, False),  # noqa: S104 (an address under test, not a bind)
        ("224.0.0.1", False, False, False),
        ("240.0.0.1", False, False, False),  # reserved
    ],
)
def test_address_allowed(address, default, loopback, private):
    ip = ipaddress.ip_address(address)
    assert address_allowed(ip) is default
    assert address_allowed(ip, allow_loopback=True) is loopback
    assert address_allowed(ip, allow_private=True) is private
