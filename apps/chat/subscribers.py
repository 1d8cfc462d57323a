"""What the chat app does when the rest of Docent says something happened (common.events): ring doorbells."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.chat.consumers import member_group
from common.events import DomainEvent, EventType, subscribe

logger = logging.getLogger(__name__)


def _ring(group: str, message: dict[str, object]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the doorbell may fail; clients resume from the database
        logger.warning("channel layer send to %s failed", group, exc_info=True)


def close_removed_member(event: DomainEvent) -> None:
    _ring(
        member_group(organization_id=event.organization_id, user_id=event.payload["user_id"]),
        {"type": "session.revoke", "reason": "removed_from_organization"},
    )


def connect() -> None:
    subscribe(EventType.MEMBER_REMOVED, close_removed_member)
