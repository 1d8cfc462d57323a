"""Writing a text frame to a member's socket at once, without a task, when the server is uvicorn (its default,
sans-I/O `websockets` protocol) and the socket's transport has room.

A fan-out hands one frame to each of a room's sockets. Through ASGI each hand-off is a task, an `await` through
Channels' send and uvicorn's, then the write: about 70 µs of the one event loop per socket, 15 ms per message to
a 200-member room, during which nothing else of the process runs (ADR 0078). The write itself (encode, deflate,
`transport.write`) is a fraction of that. `direct_writer` returns a function that does exactly what uvicorn's
`send` does for a `websocket.send` (the same checks, the same calls), synchronously, and answers False whenever
that would not be the same: the transport is paused (the client reads slowly), closing, or the socket is not
open. The caller then goes the ordinary way, which waits for the transport. With any other server (Daphne, the
test communicator) there is no direct writer and every frame goes the ordinary way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.exceptions import InvalidState
except ImportError:  # pragma: no cover - uvicorn without websockets: every frame goes through ASGI
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]


_USED = ("writable", "disconnected", "handshake_complete", "close_sent", "initial_response", "transport", "conn")


def direct_writer(send: Any) -> Callable[[str], bool] | None:
    """For the ASGI `send` a consumer was given: a function writing a text frame at once (True), or declining
    (False: use `send`); None when the server is not one it knows."""
    protocol = getattr(send, "__self__", None)
    if WebSocketsSansIOProtocol is None or not isinstance(protocol, WebSocketsSansIOProtocol):
        return None
    if getattr(send, "__func__", None) is not WebSocketsSansIOProtocol.send:
        return None
    if not all(hasattr(protocol, name) for name in _USED):  # another uvicorn than the one this was written for
        return None

    def write(text: str) -> bool:
        if (
            not protocol.writable.is_set()
            or protocol.disconnected
            or not protocol.handshake_complete
            or protocol.close_sent
            or protocol.initial_response is not None
            or protocol.transport.is_closing()
        ):
            return False
        try:
            protocol.conn.send_text(text.encode())
        except InvalidState:
            return False
        protocol.transport.write(b"".join(protocol.conn.data_to_send()))
        return True

    return write
