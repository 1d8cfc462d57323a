"""Fixtures: one loopback provider server per test process, reset for every test."""

from collections.abc import Iterator

import pytest

from apps.chatbot_provider.models import ProviderKind
from apps.chatbot_provider.tests.factories import ChatbotProviderFactory
from apps.chatbot_provider.tests.loopback import LoopbackServer


@pytest.fixture(scope="session")
def loopback_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer().start()
    yield server
    server.stop()


@pytest.fixture
def loopback(loopback_server: LoopbackServer, settings) -> Iterator[LoopbackServer]:
    settings.PROVIDER_RETRY_BASE_SECONDS = 0.01
    settings.PROVIDER_RETRY_MAX_SECONDS = 0.05
    loopback_server.reset()
    yield loopback_server
    loopback_server.reset()


@pytest.fixture
def openai_provider(loopback, organization):
    loopback.state.api_key = "sk-loopback-secret-1234"
    return ChatbotProviderFactory(
        organization=organization,
        name="OpenAI loopback",
        kind=ProviderKind.OPENAI,
        api_key="sk-loopback-secret-1234",
        base_url=loopback.openai_base_url,
        default_chat_model="gpt-loop",
        default_embedding_model="text-embedding-loop",
        timeout_seconds=2.0,
        max_retries=2,
    )


@pytest.fixture
def compatible_provider(loopback, organization):
    return ChatbotProviderFactory(
        organization=organization,
        name="Local server",
        kind=ProviderKind.OPENAI_COMPATIBLE,
        api_key="",
        base_url=loopback.openai_base_url,
        default_chat_model="llama-loop",
        default_embedding_model="nomic-loop",
        timeout_seconds=2.0,
        max_retries=2,
    )


@pytest.fixture
def gemini_provider(loopback, organization):
    loopback.state.api_key = "gm-loopback-secret-5678"
    return ChatbotProviderFactory(
        organization=organization,
        name="Gemini loopback",
        kind=ProviderKind.GEMINI,
        api_key="gm-loopback-secret-5678",
        base_url=loopback.gemini_base_url,
        default_chat_model="gemini-loop",
        default_embedding_model="gemini-embedding-loop",
        timeout_seconds=2.0,
        max_retries=2,
    )
