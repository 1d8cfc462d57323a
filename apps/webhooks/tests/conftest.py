"""Fixtures of the webhooks tests: a loopback receiver, fast retries, and a way to run on-commit work."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from apps.webhooks.tests import receiver as receiver_module
from apps.webhooks.tests.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found, server = receiver_module.start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_retries(settings) -> None:
    """Five attempts with no wait between them, so a test sees the whole retry sequence at once."""
    settings.WEBHOOK_RETRY_DELAYS_SECONDS = [0, 0, 0, 0]


@pytest.fixture
def fake_dns(monkeypatch) -> Callable[[str, str], None]:
    """fake_dns("hooks.example.test", "10.0.0.7"): that name resolves to that address; others as usual."""
    names: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return real(names[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names.__setitem__
