"""Writes of the chat app: issuing and redeeming WebSocket tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.chat.models import RealtimeTicket
from apps.organizations.actors import Actor
from apps.organizations.tenancy import tenant_for
from common.core.errors import DomainError, NotFound
from common.security.tokens import token_hash, token_issue

TICKET_PREFIX = "wst_"


class TicketInvalid(DomainError):
    code = "ticket_invalid"
    status_code = 401
    default_message = "This ticket is unknown, used or expired: ask for a new one."


@dataclass(frozen=True)
class IssuedTicket:
    ticket: str
    expires_at: datetime


@transaction.atomic
def realtime_ticket_issue(*, actor: Actor) -> IssuedTicket:
    """A ticket for one WebSocket connection of this member in this organization, valid a few seconds, once."""
    assert actor.user is not None, "Only a signed-in member opens a realtime connection."
    issued = token_issue(TICKET_PREFIX)
    expires_at = timezone.now() + timedelta(seconds=int(settings.REALTIME_TICKET_SECONDS))
    RealtimeTicket.objects.create(
        organization=actor.org, user=actor.user, token_hash=issued.digest, expires_at=expires_at
    )
    return IssuedTicket(ticket=issued.plaintext, expires_at=expires_at)


def realtime_ticket_redeem(*, ticket: str, ip: str | None = None) -> Actor:
    """The member the ticket was issued to, bound to its organization again (membership re-checked). A ticket
    works once: of two connections racing with the same ticket, one wins."""
    if not ticket.startswith(TICKET_PREFIX) or len(ticket) > 200:
        raise TicketInvalid()
    now = timezone.now()
    with transaction.atomic():
        row = (
            RealtimeTicket.objects.unscoped()  # the ticket names the organization
            .select_for_update()
            .select_related("user")
            .filter(token_hash=token_hash(ticket), used_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if row is None:
            raise TicketInvalid()
        row.used_at = now
        row.save(update_fields=["used_at", "updated_at"])
    if not row.user.is_active:
        raise TicketInvalid()
    try:
        return tenant_for(Actor.for_user(row.user, ip=ip), str(row.organization_id))
    except NotFound:
        raise TicketInvalid() from None


def realtime_tickets_purge(*, now: datetime | None = None) -> int:
    """Delete tickets that expired more than a minute ago (called by beat)."""
    cutoff = (now or timezone.now()) - timedelta(minutes=1)
    deleted, _ = RealtimeTicket.objects.unscoped().filter(expires_at__lt=cutoff).delete()
    return deleted
