"""Fixtures: Docent served by uvicorn on a free loopback port (real HTTP for the openai SDK), bots with
passages to cite, and API keys."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from apps.chatbot.tests.conftest import HANDBOOK
from apps.chatbot_provider.tests.conftest import (  # noqa: F401 (fixtures)
    loopback,
    loopback_server,
    openai_provider,
)


class DocentServer:
    """uvicorn serving config.asgi in a thread of the test process, so it uses the test database."""

    def __init__(self) -> None:
        from config.asgi import application

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(application, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/openai/v1"

    def start(self) -> DocentServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture(scope="session")
def docent_server(django_db_setup) -> Iterator[DocentServer]:
    server = DocentServer().start()
    yield server
    server.stop()


@pytest.fixture
def handbook(monkeypatch):
    """Retrieval finds the two handbook passages (the pipeline then cites them as [1] and [2])."""
    monkeypatch.setattr("apps.chatbot.services.answer.retrieve", lambda *, bot, question: list(HANDBOOK))
    return HANDBOOK


@pytest.fixture
def chat_key(organization):
    """An API key of `organization` with the chat scope only."""
    from apps.api_keys.tests.factories import APIKeyFactory

    return APIKeyFactory(organization=organization, scopes=["chat"])
