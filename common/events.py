"""Domain events: services say what happened, subscribers hear it after the transaction commits.

A service calls `emit(EventType.DOCUMENT_READY, organization=..., payload={...})` inside its atomic block. The
event is delivered once the outermost transaction commits (never when it rolls back), to every handler an
app registered with `subscribe()` in its AppConfig.ready(). The emitting app never imports its subscribers
(realtime delivery and webhooks subscribe; documents only emits). A failing handler is logged and does not
stop the others or the request. See docs/adr/0041-domain-events-on-commit.md.

Events delivered inside one `delivered_together()` block (facts of one commit, such as a new conversation and its
first message) share a `delivery_memo()`: a subscriber may keep there what it reads for every event, such as which
event types an organization's webhook endpoints want, and read it once for all of them (ADR 0133).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)
ALL = "*"
_memo: ContextVar[dict[Any, Any] | None] = ContextVar("events_delivery_memo", default=None)


class _Held:
    """The work a `deliveries_held()` block keeps until it ends. A context copied inside the block (a thread started
    there, a chat stream's producer) may outlive it: once the block has delivered, the list takes nothing more and
    such work runs at once instead of joining a list nobody reads again."""

    def __init__(self) -> None:
        self.work: list[Callable[[], None]] = []
        self.ended = False
        self.lock = threading.Lock()

    def keep(self, work: Callable[[], None]) -> bool:
        """Keep `work` for the block's end; False when the block has ended (the caller runs it now)."""
        with self.lock:
            if self.ended:
                return False
            self.work.append(work)
            return True

    def end(self) -> list[Callable[[], None]]:
        """The work kept so far; after it, `keep` refuses. Called until it returns nothing (work kept meanwhile)."""
        with self.lock:
            work, self.work = self.work, []
            if not work:
                self.ended = True
        return work


_held: ContextVar[_Held | None] = ContextVar("events_held", default=None)


class EventType(models.TextChoices):
    """Every event Docent emits: the names subscribers (and webhook endpoints) choose from."""

    DOCUMENT_CREATED = "document.created", "A document was added and queued for indexing"
    DOCUMENT_READY = "document.ready", "A document finished indexing"
    DOCUMENT_FAILED = "document.failed", "A document could not be indexed"
    DOCUMENT_DELETED = "document.deleted", "A document was deleted"
    CONVERSATION_CREATED = "conversation.created", "A conversation started"
    CONVERSATION_CHANGED = "conversation.changed", "A room was renamed, or members joined or left it"
    CONVERSATION_READ = "conversation.read", "A member read a room up to a message"
    MESSAGE_CREATED = "message.created", "A message was saved in a conversation"
    MESSAGE_UPDATED = "message.updated", "A message was edited or deleted"
    FEEDBACK_CREATED = "feedback.created", "Someone rated an answer (or changed their rating)"
    BOT_CHANGED = "bot.changed", "A bot was created, changed or deleted"
    API_KEY_REVOKED = "api_key.revoked", "An API key was revoked"
    MEMBER_ADDED = "member.added", "Someone joined the organization (accepted an invitation)"
    MEMBER_ROLE_CHANGED = "member.role_changed", "A member's role changed"
    MEMBER_REMOVED = "member.removed", "A member was removed or left"
    HANDOFF_REQUESTED = "handoff.requested", "A widget conversation asked for a person"
    HANDOFF_ASSIGNED = "handoff.assigned", "A member took over a widget conversation"
    HANDOFF_RESOLVED = "handoff.resolved", "A member handed a widget conversation back or closed it"


@dataclass(frozen=True)
class DomainEvent:
    type: str
    organization_id: str
    payload: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: datetime = field(default_factory=timezone.now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "organization_id": self.organization_id,
            "occurred_at": self.occurred_at.isoformat(),
            "payload": self.payload,
        }


Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event_type: str, handler: Handler) -> None:
    """Call `handler(event)` after commit for every event of `event_type` (or every event, with ALL)."""
    if event_type != ALL:
        EventType(event_type)  # an unknown type is a bug: fail at start-up, not silently never
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def unsubscribe(event_type: str, handler: Handler) -> None:
    if handler in _handlers.get(event_type, []):
        _handlers[event_type].remove(handler)


def emit(event_type: EventType | str, *, organization: Any, payload: dict[str, Any]) -> DomainEvent:
    """Record that something happened; subscribers hear it after the current transaction commits."""
    event = DomainEvent(
        type=EventType(event_type).value,
        organization_id=str(getattr(organization, "pk", organization)),
        payload=payload,
    )
    transaction.on_commit(lambda: deliver(event))
    return event


def deliver(event: DomainEvent) -> None:
    """Hand one event to its subscribers now (emit() calls this on commit), or when the `deliveries_held()` block
    open here ends."""
    held = _held.get()
    if held is not None and held.keep(lambda: deliver(event)):
        return
    for handler in [*_handlers.get(event.type, []), *_handlers.get(ALL, [])]:
        try:
            handler(event)
        except Exception:
            logger.exception("event subscriber %r failed on %s %s", handler, event.type, event.id)


@contextmanager
def delivered_together() -> Iterator[None]:
    """The events delivered inside this block share one `delivery_memo()`. Use it around the emits of facts that one
    commit makes true together: they are delivered after that commit (at once outside a transaction, else when the
    transaction inside the block commits), so what a subscriber reads for the first of them is read after the commit
    of all of them, as it would have been for each. Events delivered after the block (a transaction around it
    commits later) get no memo. Nested blocks share the outermost one's memo."""
    token = _memo.set({}) if _memo.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _memo.reset(token)


@contextmanager
def deliveries_held() -> Iterator[None]:
    """The events that would be delivered inside this block (and the work given to `with_deliveries`) are delivered
    when it ends, in order, together (one `delivery_memo()`), also when it raises. For a door whose client waits for
    something that does not need them (a chat stream's first token): the subscribers hear the commit a few round
    trips later, off that wait (ADR 0137). Nested blocks: the outermost delivers. A context copied inside the block
    that delivers after it ended (a stream's thread) delivers at once."""
    if _held.get() is not None:
        yield
        return
    held = _Held()
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        with delivered_together():
            while work := held.end():  # what another thread kept while these ran goes too
                for item in work:
                    item()


def with_deliveries(work: Callable[[], None]) -> None:
    """Run `work` now, or with the held deliveries when a `deliveries_held()` block is open here."""
    held = _held.get()
    if held is None or not held.keep(work):
        work()


def delivery_memo() -> dict[Any, Any] | None:
    """The memo of the `delivered_together()` block being delivered in, or None: subscribers key their entries by
    their own module name."""
    return _memo.get()
