"""Reads of the chat app."""

from __future__ import annotations

from apps.organizations.actors import Actor
from apps.organizations.models import Membership


def realtime_access_allowed(*, actor: Actor, connected_at: float) -> bool:
    """Is this member still allowed the connection they opened at `connected_at` (a UNIX time)? No once they
    left or were removed, were deactivated, or revoked their tokens (log out everywhere, password change)."""
    membership = (
        Membership.objects.for_org(actor.organization_id).select_related("user").filter(user_id=actor.user_id).first()
    )
    if membership is None or not membership.user.is_active:
        return False
    cutoff = getattr(membership.user, "tokens_valid_after", None)
    return cutoff is None or cutoff.timestamp() <= connected_at
