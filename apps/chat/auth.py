"""Who opened a WebSocket: a redeemed ticket, or a JWT access token (the same checks as the REST API)."""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from apps.chat.services import TicketInvalid, realtime_ticket_redeem
from apps.organizations.actors import Actor
from apps.organizations.tenancy import tenant_for
from apps.users.authentication import RevocableJWTAuthentication
from common.core.errors import DomainError
from common.jwt_middleware import Credential

logger = logging.getLogger(__name__)


def _from_jwt(credential: Credential) -> Actor | None:
    authentication = RevocableJWTAuthentication()
    try:
        token = authentication.get_validated_token(credential.value.encode())
        user = authentication.get_user(token)
    except (InvalidToken, TokenError, AuthenticationFailed):
        return None
    try:
        return tenant_for(Actor.for_user(user, ip=credential.ip), credential.organization)
    except DomainError:
        return None


def _authenticate(credential: Credential) -> Actor | None:
    if credential.kind == "ticket":
        try:
            return realtime_ticket_redeem(ticket=credential.value, ip=credential.ip)
        except TicketInvalid:
            return None
    if credential.kind == "jwt":
        return _from_jwt(credential)
    return None


authenticate = database_sync_to_async(_authenticate, thread_sensitive=False)  # connects do not queue behind one thread
