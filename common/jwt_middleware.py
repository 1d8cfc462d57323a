"""WebSocket authentication: read the credential from the handshake, never from a logged URL's JWT.

A client presents either a single-use ticket (`POST /api/v1/realtime/tickets`, then `/ws/?ticket=...` or the
subprotocol `docent.ticket.<ticket>`), or its JWT access token as the subprotocol `docent.jwt.<token>` (with
`?organization=<id or slug>` when it belongs to several). The middleware only extracts the credential; the
`authenticate` callable given by the project (apps.chat.auth) decides who it is, so `common` imports no app.
The result lands in `scope["actor"]` (None when absent or refused); the consumer closes with 4401 then. When
deciding fails (the database or cache is short of connections during a connect burst), `scope["actor"]` is None
and `scope["auth_unavailable"]` True: the consumer refuses with 1013 (try again later), never an HTTP 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

logger = logging.getLogger(__name__)

PROTOCOL = "docent.v1"
TICKET_PREFIX = "docent.ticket."
JWT_PREFIX = "docent.jwt."


@dataclass(frozen=True)
class Credential:
    kind: str  # "ticket" or "jwt"
    value: str
    organization: str | None
    ip: str | None


Authenticate = Callable[[Credential], Awaitable[Any]]


def credential_from_scope(scope: dict[str, Any]) -> Credential | None:
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    organization = (query.get("organization") or [None])[0]
    client = scope.get("client") or (None, None)
    ip = client[0] if client else None
    for protocol in scope.get("subprotocols") or []:
        if protocol.startswith(TICKET_PREFIX):
            return Credential("ticket", protocol[len(TICKET_PREFIX) :], organization, ip)
        if protocol.startswith(JWT_PREFIX):
            return Credential("jwt", protocol[len(JWT_PREFIX) :], organization, ip)
    ticket = (query.get("ticket") or [None])[0]
    if ticket:
        return Credential("ticket", ticket, organization, ip)
    return None


class WebSocketAuthMiddleware:
    """ASGI middleware for the websocket scope: `scope["actor"]` is who connected, or None."""

    def __init__(self, inner: Any, authenticate: Authenticate) -> None:
        self.inner = inner
        self.authenticate = authenticate

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket":
            credential = credential_from_scope(scope)
            actor, unavailable = None, False
            if credential is not None:
                try:
                    actor = await self.authenticate(credential)
                except Exception:  # an exception here would be the server's HTTP 500 at the handshake
                    logger.warning("WebSocket authentication failed to run", exc_info=True)
                    unavailable = True
            scope = {**scope, "actor": actor, "auth_unavailable": unavailable}
        return await self.inner(scope, receive, send)
