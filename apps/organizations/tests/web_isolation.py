"""Tenant isolation for server-rendered pages: every page route with an id in its path is requested by
organization A's owner (signed in with a session) with organization B's objects; it must answer 404
(405 when the method is not served), or redirect with an error message while leaving the object
untouched, and B's object must survive unchanged.

Routes are discovered from the URL conf; path kwargs named `pk`, `id` or `<something>_id` are ids.
The model behind an id is guessed from its name (`document_id` → Document); for `pk`/`id`, B's object
of every organization-owned model is tried, so no declaration is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from apps.organizations.tests.isolation import World, _model_named

ID_KWARG = re.compile(r"^(pk|id|\w+_id)$")
# openai/ and widget/: APIs with their own isolation tests (test_tenant_isolation, apps/widget/tests)
SKIPPED_PREFIXES = ("api/", "openai/", "widget/", "admin/", "static/", "media/")


@dataclass(frozen=True)
class WebRoute:
    pattern: str  # e.g. "members/<str:membership_id>/remove/"
    kwargs: tuple[str, ...]

    def url(self, values: dict[str, str]) -> str:
        path = self.pattern
        for name, value in values.items():
            path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
        return "/" + path

    def __str__(self) -> str:
        return "/" + self.pattern


def _walk(patterns: list[Any], prefix: str = "") -> list[str]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found.extend(_walk(entry.url_patterns, prefix + str(entry.pattern)))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def discover_web_routes(urlconf: str | None = None) -> list[WebRoute]:
    routes = []
    for pattern in _walk(get_resolver(urlconf).url_patterns):
        if pattern.startswith(SKIPPED_PREFIXES) or pattern.startswith("^"):
            continue
        kwargs = tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
        if kwargs and all(ID_KWARG.match(k) for k in kwargs):
            routes.append(WebRoute(pattern=pattern, kwargs=kwargs))
    return sorted(set(routes), key=str)


def check_web_route(route: WebRoute, world: World, client: Any) -> list[str]:
    problems: list[str] = []
    world.populate()
    candidates: dict[str, list[Any]] = {}
    for kwarg in route.kwargs:
        if kwarg in ("pk", "id"):
            candidates[kwarg] = list(world.factories)
        else:
            model = _model_named(kwarg.removesuffix("_id"))
            if model is None:
                return [f"{route}: cannot tell which model `{kwarg}` names; name it after the model (`document_id`)."]
            candidates[kwarg] = [model]
    # One probe per candidate model of the first id kwarg; the others use their single model.
    first = route.kwargs[0]
    for model in candidates[first]:
        values = {first: str(world.obj(world.org_b, model).pk)}
        for kwarg in route.kwargs[1:]:
            values[kwarg] = str(world.obj(world.org_b, candidates[kwarg][0]).pk)
        url = route.url(values)
        before = _snapshot(model, values[first])
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code in (404, 405):
                continue
            if 300 <= response.status_code < 400 and _has_error_message(response):
                continue  # refused with a message; that nothing changed is checked below
            problems.append(
                f"{method.upper()} {url} ({model.__name__} of organization B) answered "
                f"{response.status_code} instead of 404"
            )
        after = _snapshot(model, values[first])
        if after is None:
            problems.append(f"{route}: organization B's {model.__name__} was deleted by organization A's owner")
        elif after != before:
            problems.append(f"{route}: organization B's {model.__name__} was changed by organization A's owner")
    return problems


def _snapshot(model: Any, pk: str) -> dict[str, Any] | None:
    manager = getattr(model.objects, "unscoped", None)
    queryset = manager() if manager else model._default_manager.all()
    return queryset.filter(pk=pk).values().first()


def _has_error_message(response: Any) -> bool:
    from django.contrib.messages import ERROR, get_messages

    request = getattr(response, "wsgi_request", None)
    return request is not None and any(m.level >= ERROR for m in get_messages(request))
