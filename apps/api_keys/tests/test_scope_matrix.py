"""Every endpoint, as discovered from the URL configuration at test time, refuses an API key that lacks its
declared scope and admits one that has it; endpoints that declare no scope refuse API keys altogether.

Endpoints other apps add are covered without editing this file.
"""

import itertools
import re
import uuid

import pytest
from django.urls import Resolver404, resolve
from drf_spectacular.generators import EndpointEnumerator

from apps.api_keys.authentication import APIKeyAuthentication
from apps.api_keys.models import ALL_SCOPES
from apps.organizations.permissions import required_scope

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _fill(path: str) -> str:
    """The path with every parameter replaced by a value its converter accepts (random UUIDs first)."""
    names = re.findall(r"{(\w+)}", path)
    for values in itertools.product((str(uuid.uuid4()), "1", "x1"), repeat=len(names)):
        filled = path
        for name, value in zip(names, values, strict=True):
            filled = filled.replace("{" + name + "}", value, 1)
        try:
            resolve(filled)
        except Resolver404:
            continue
        return filled
    raise AssertionError(f"cannot build a URL for {path}")


def _view(callback, method: str):
    cls = callback.cls
    view = cls(**getattr(callback, "initkwargs", {}))
    actions = getattr(callback, "actions", None) or {}
    view.action = actions.get(method.lower())
    view.action_map = actions
    return view


def _endpoints():
    found = []
    for path, _route, method, callback in EndpointEnumerator().get_api_endpoints():
        if method not in METHODS or not path.startswith("/api/v1/"):
            continue
        view = _view(callback, method)
        if not any(isinstance(a, APIKeyAuthentication) for a in view.get_authenticators()):
            continue  # this view ignores API keys entirely (e.g. login)
        scope = required_scope(view, method) if hasattr(view, "required_scopes") else None
        found.append((method, path, scope))
    return found


ENDPOINTS = _endpoints()
SCOPED = [e for e in ENDPOINTS if e[2] is not None]
UNSCOPED = [e for e in ENDPOINTS if e[2] is None]


def _call(client, method, path):
    return getattr(client, method.lower())(_fill(path), data={}, format="json")


def test_the_matrix_is_not_empty():
    assert SCOPED, "no endpoint declares an API-key scope"
    assert ("GET", "/api/v1/usage", "analytics:read") in SCOPED
    assert ("POST", "/api/v1/api-keys/{api_key_id}/revoke", None) in UNSCOPED


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "scope"), SCOPED, ids=[f"{m} {p}" for m, p, _ in SCOPED])
def test_a_key_without_the_declared_scope_is_refused_naming_it(method, path, scope, organization, make_api_key_client):
    client = make_api_key_client(organization, scopes=[s for s in ALL_SCOPES if s != scope])
    response = _call(client, method, path)
    assert response.status_code == 403, response.content
    assert response.json()["error"]["details"]["missing_scope"] == scope


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "scope"), SCOPED, ids=[f"{m} {p}" for m, p, _ in SCOPED])
def test_a_key_with_only_the_declared_scope_gets_through(method, path, scope, organization, make_api_key_client):
    client = make_api_key_client(organization, scopes=[scope])
    response = _call(client, method, path)
    assert response.status_code < 500, response.content
    assert response.status_code not in (401, 403), response.content


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "scope"), UNSCOPED, ids=[f"{m} {p}" for m, p, _ in UNSCOPED])
def test_an_endpoint_without_a_declared_scope_refuses_even_a_key_with_every_scope(
    method, path, scope, organization, make_api_key_client
):
    client = make_api_key_client(organization)
    response = _call(client, method, path)
    assert response.status_code == 403, response.content
    assert response.json()["error"]["details"] == {"reason": "api_key_not_allowed"}
