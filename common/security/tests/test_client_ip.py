"""client_ip: REMOTE_ADDR unless the request comes from a trusted proxy, then the last untrusted hop."""

import pytest
from django.test import RequestFactory

from common.security.client_ip import client_ip, parse_networks


def _ip(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_IPS = []
    assert _ip("127.0.0.1", "203.0.113.9") == "127.0.0.1"


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # the client may prepend anything
        ("10.0.0.5", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # two proxies of ours
        ("10.0.0.5", "203.0.113.9:4711", "203.0.113.9"),
        ("10.0.0.5", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.0.0.5", "not-an-address", "10.0.0.5"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("192.0.2.1", "203.0.113.9", "192.0.2.1"),  # not one of our proxies
    ],
)
def test_a_trusted_proxy_names_the_client(settings, remote, forwarded, expected):
    settings.TRUSTED_PROXY_IPS = ["10.0.0.0/24"]
    assert _ip(remote, forwarded) == expected


def test_malformed_proxy_addresses_are_named():
    with pytest.raises(ValueError, match=r"proxy\.example"):
        parse_networks(["10.0.0.1", "proxy.example"])
