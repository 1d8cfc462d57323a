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

from apps.organizations.models import Role
from common.core.errors import PermissionDeniedError

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
        tenant = view.tenant
        if tenant.api_key is not None:
            scope = required_scope(view, request.method or "GET")
            if scope is None:
                raise PermissionDeniedError(
                    "API keys cannot use this endpoint; sign in as an owner or admin.",
                    details={"reason": "api_key_not_allowed"},
                )
            if not tenant.api_key.has_scope(scope):
                raise PermissionDeniedError(f"This API key lacks the scope {scope}.", details={"missing_scope": scope})
            check_url_restrictions(request, view)
            return True
        needed = required_role(view, request.method or "GET")
        role = tenant.role
        if role is None or not role.at_least(needed):
            raise PermissionDeniedError(
                f"This action needs the {needed.label.lower()} role or higher.",
                details={"required_role": needed.value, "your_role": role.value if role else None},
            )
        return True


DEFAULT_RESOURCE_KWARGS = {"bot_id": "bot", "collection_id": "collection"}


def check_url_restrictions(request: Any, view: Any) -> None:
    """403 when a URL kwarg names a bot or collection the request's API key is restricted away from."""
    declared = getattr(view, "resource_kwargs", None)
    mapping: dict[str, str] = DEFAULT_RESOURCE_KWARGS if declared is None else declared
    kwargs = getattr(view, "kwargs", None) or {}
    for kwarg, kind in mapping.items():
        if kwargs.get(kwarg) is not None:
            check_resource_restriction(request, kind=kind, resource_id=kwargs[kwarg])


def api_key_restricted_ids(request: Any, *, kind: str) -> frozenset[str] | None:
    """For list views: the ids of `kind` ("bot" or "collection") an API key is limited to, or None when
    the caller is not an API key or the key is not restricted. Filter with `pk__in=` when not None."""
    auth: Any = getattr(request, "auth", None)
    if not getattr(auth, "is_api_key", False):
        return None
    restricted: frozenset[str] | None = auth.restricted_ids(kind)
    return restricted


def check_resource_restriction(request: Any, *, kind: str, resource_id: Any) -> None:
    """403 when the request's API key is restricted to other bots / collections than `resource_id`.

    Duck-typed on `request.auth` (`allows_bot` / `allows_collection`), so apps need not import api_keys.
    Does nothing for members (JWT or session).
    """
    auth: Any = getattr(request, "auth", None)
    if not getattr(auth, "is_api_key", False):
        return
    if kind not in ("bot", "collection"):
        raise ValueError(f"Unknown restriction kind: {kind}")
    allowed = auth.allows_bot(resource_id) if kind == "bot" else auth.allows_collection(resource_id)
    if not allowed:
        raise PermissionDeniedError(
            f"This API key is restricted to other {kind}s.",
            details={"restricted": kind, "resource_id": str(resource_id)},
        )
