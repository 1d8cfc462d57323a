"""Under uvicorn a fan-out writes an idle socket's frame at once; it declines whenever uvicorn's own send would wait
or fail (a client reading slowly, a closing socket), and other servers get no direct writer at all."""

from __future__ import annotations

import asyncio

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.protocol import State

from apps.chat.wire import direct_writer


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


@pytest.fixture
def protocol():
    async def app(scope, receive, send):  # never called
        raise AssertionError

    config = Config(app=app, ws="websockets-sansio", ws_per_message_deflate=False)
    config.load()
    loop = asyncio.new_event_loop()
    protocol = WebSocketsSansIOProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    protocol.transport = Transport()  # type: ignore[assignment]
    protocol.handshake_complete = True
    protocol.conn.state = State.OPEN
    yield protocol
    loop.close()


def test_an_open_socket_under_uvicorn_gets_the_frame_written_at_once(protocol):
    write = direct_writer(protocol.send)
    assert write is not None and write('{"type":"pong"}')
    assert protocol.transport.written == [b'\x81\x0f{"type":"pong"}']


def test_a_client_reading_slowly_or_a_closing_socket_is_left_to_the_ordinary_send(protocol):
    write = direct_writer(protocol.send)
    assert write is not None
    protocol.writable.clear()  # uvicorn paused writing: the transport's buffer is full
    assert not write("late")
    protocol.writable.set()
    protocol.close_sent = True
    assert not write("closing")
    protocol.close_sent = False
    protocol.transport.closing = True
    assert not write("gone")
    assert protocol.transport.written == []


def test_another_server_gets_no_direct_writer():
    async def send(message):  # Daphne's, or the test communicator's
        pass

    assert direct_writer(send) is None
