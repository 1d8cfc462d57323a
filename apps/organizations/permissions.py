"""The role matrix and scope checks, enforced once for every organization-scoped view.

Views declare what they need:
    required_roles  = {"GET": Role.MEMBER, "POST": Role.ADMIN, ...}   (default: read=member, write=admin)
    required_scopes = {"GET": "documents:read", "POST": "documents:write"}  (API keys; absent = keys refused)
    resource_kwargs = {"pk": "bot"}  (URL kwargs naming a bot or collection, checked against an API key's
                                      restrictions; default {"bot_id": "bot", "collection_id": "collection"})
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.organizations.actors import Actor, require_access, require_role, require_scope
from apps.organizations.models import Role

DEFAULT_READ_ROLE = Role.MEMBER
DEFAULT_WRITE_ROLE = Role.ADMIN


def required_role(view: Any, method: str) -> Role:
    declared = getattr(view, "required_roles", None) or {}
    if method in declared:
        return Role(declared[method])
    if method == "HEAD" and "GET" in declared:
        return Role(declared["GET"])
    return DEFAULT_READ_ROLE if method in SAFE_METHODS else DEFAULT_WRITE_ROLE


def required_scope(view: Any, method: str) -> str | None:
    declared = getattr(view, "required_scopes", None) or {}
    action = getattr(view, "action", None)
    if action and action in declared:
        return str(declared[action])
    if method in declared:
        return str(declared[method])
    if method in ("HEAD", "OPTIONS") and "GET" in declared:
        return str(declared["GET"])
    return None


class OrganizationRolePermission(BasePermission):
    """Members need the role the view declares; API keys need the scope the view declares."""

    def has_permission(self, request: Request, view: Any) -> bool:
        actor: Actor = view.actor
        if actor.is_api_key:
            require_scope(actor, required_scope(view, request.method or "GET"))
            check_url_restrictions(actor, view)
            return True
        require_role(actor, required_role(view, request.method or "GET"))
        return True


DEFAULT_RESOURCE_KWARGS = {"bot_id": "bot", "collection_id": "collection"}


def check_url_restrictions(actor: Actor, view: Any) -> None:
    """403 when a URL kwarg names a bot or collection the actor's API key is restricted away from."""
    declared = getattr(view, "resource_kwargs", None)
    mapping: dict[str, str] = DEFAULT_RESOURCE_KWARGS if declared is None else declared
    kwargs = getattr(view, "kwargs", None) or {}
    for kwarg, kind in mapping.items():
        if kwargs.get(kwarg) is not None:
            require_access(actor, kind=kind, resource_id=kwargs[kwarg])
