"""SDK clients are built once per provider configuration, also when the first answers after a start arrive together."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from apps.chatbot_provider import clients
from apps.chatbot_provider.models import ProviderKind
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory

pytestmark = pytest.mark.django_db


def _counting_builds(monkeypatch: pytest.MonkeyPatch, adapter: Any, *, fail_first: bool = False) -> list[Any]:
    """Count the adapter's real builds (each made slower, so that concurrent callers overlap it)."""
    built: list[Any] = []
    real = adapter.build_sdk_client

    def build(provider: Any) -> Any:
        built.append(provider.pk)
        time.sleep(0.05)
        if fail_first and len(built) == 1:
            raise RuntimeError("the first build failed")
        return real(provider)

    monkeypatch.setattr(adapter, "build_sdk_client", build)
    return built


def test_answers_arriving_together_on_a_cold_process_share_one_sdk_client(monkeypatch, organization):
    provider = ChatbotProviderFactory(
        organization=organization, kind=ProviderKind.OPENAI_COMPATIBLE, base_url="http://127.0.0.1:9/together/v1"
    )
    adapter = clients.client_for(provider)
    built = _counting_builds(monkeypatch, adapter)
    start = threading.Barrier(16)
    got: list[Any] = []

    def ask() -> None:
        start.wait()
        got.append(adapter.sdk_client(provider))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert len(got) == 16 and all(client is got[0] for client in got)
    assert adapter.sdk_client(provider) is got[0]  # and later answers use it too


def test_a_build_that_fails_fails_its_caller_and_the_next_one_builds_again(monkeypatch, organization):
    provider = ChatbotProviderFactory(
        organization=organization, kind=ProviderKind.OPENAI_COMPATIBLE, base_url="http://127.0.0.1:9/failing/v1"
    )
    adapter = clients.client_for(provider)
    built = _counting_builds(monkeypatch, adapter, fail_first=True)
    with pytest.raises(RuntimeError, match="first build failed"):
        adapter.sdk_client(provider)
    client = adapter.sdk_client(provider)
    assert client is not None and adapter.sdk_client(provider) is client
    assert len(built) == 2
