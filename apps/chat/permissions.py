"""Who may do what over the realtime socket beyond the rooms' own rules (those live in apps.chat.services)."""

from __future__ import annotations

from apps.organizations.actors import Actor
from apps.organizations.models import Role

# The role that acts as an agent on widget conversations that asked for a person: /api/v1/handoffs requires it
# (apps.widget.api), and only sockets of members holding it hear `handoff.*` frames or send `handoff.typing`.
HANDOFF_AGENT_ROLE = Role.MEMBER


def may_act_on_handoffs(actor: Actor) -> bool:
    role = actor.role
    return role is not None and role.at_least(HANDOFF_AGENT_ROLE)
