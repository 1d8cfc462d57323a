"""Tenant isolation checker: walks every organization-scoped API endpoint and proves that another
organization's objects cannot be read, changed, deleted, listed or referenced.

Endpoints are discovered from the URL conf (the same enumeration the OpenAPI schema uses), so an
endpoint added later is checked without editing any test. For each one, objects are made by the
factories every app declares in `apps/<app>/tests/factories.py` (any DjangoModelFactory whose model has an
`organization` foreign key is picked up; `FACTORIES` lets a test register one explicitly).

What a view may declare to help the checker (all optional):
- `model`: the model its `pk`/`id`/lookup URL kwarg names (generic views have it anyway).
- `isolation_kwarg_models = {"collection_id": Collection}`: models of other URL kwargs, when the name
  does not say it (`collection_id` → Collection is guessed).
- `isolation_field_models = {"provider": ChatbotProvider}`: models of plain UUID request fields whose
  name does not say it (`collection_id`, `collection_ids` → Collection are guessed).
- `isolation_payload = {...}`: request body values to use instead of the generated ones.
Whatever cannot be resolved is reported as a problem, never skipped.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import factory.django
from django.apps import apps as django_apps
from django.db import models
from django.utils import timezone
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.plumbing import ComponentRegistry
from drf_spectacular.settings import spectacular_settings
from rest_framework import serializers
from rest_framework.test import APIClient

from apps.organizations.models import Organization
from apps.organizations.views_base import OrganizationScopedMixin

# Explicit registrations (model → factory callable taking organization=...). Discovery fills in the rest.
FACTORIES: dict[type[models.Model], Callable[..., models.Model]] = {}

WRITE_METHODS = ("POST", "PUT", "PATCH")
DETAIL_KWARGS = ("pk", "id", "uuid")


def register_factory(model: type[models.Model], make: Callable[..., models.Model]) -> None:
    FACTORIES[model] = make


def org_scoped_models() -> list[type[models.Model]]:
    """Every model with a foreign key named `organization` to Organization."""
    found = []
    for model in django_apps.get_models():
        try:
            fk = model._meta.get_field("organization")
        except Exception:  # noqa: S112 - no such field
            continue
        if getattr(fk, "related_model", None) is Organization:
            found.append(model)
    return found


def discover_factories() -> dict[type[models.Model], Callable[..., models.Model]]:
    import apps as apps_package

    registry: dict[type[models.Model], Callable[..., models.Model]] = {}
    scoped = set(org_scoped_models())
    for module_info in pkgutil.iter_modules(apps_package.__path__):
        name = f"apps.{module_info.name}.tests.factories"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, factory.django.DjangoModelFactory)
                and value._meta.model in scoped
                and value.__module__ == name
            ):
                registry.setdefault(value._meta.model, value)
    registry.update(FACTORIES)
    return registry


@dataclass(frozen=True)
class Endpoint:
    path: str  # as in the OpenAPI schema: /api/v1/members/{pk}
    method: str
    callback: Any
    urlconf: str | None = None

    @property
    def view_class(self) -> type:
        return self.callback.cls  # type: ignore[no-any-return]

    @property
    def kwargs(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def discover_endpoints(urlconf: str | None = None) -> list[Endpoint]:
    """Every (path, method) served by a view that inherits OrganizationScopedMixin."""
    found = []
    for path, _regex, method, callback in EndpointEnumerator(urlconf=urlconf).get_api_endpoints():
        cls = getattr(callback, "cls", None)
        if isinstance(cls, type) and issubclass(cls, OrganizationScopedMixin) and method != "OPTIONS":
            found.append(Endpoint(path=path, method=method, callback=callback, urlconf=urlconf))
    return found


def request_serializer(endpoint: Endpoint) -> serializers.BaseSerializer[Any] | None:
    """The request serializer the OpenAPI schema documents for this operation."""
    generator = SchemaGenerator(urlconf=endpoint.urlconf)
    view = generator.create_view(endpoint.callback, endpoint.method)
    view.request = spectacular_settings.GET_MOCK_REQUEST(endpoint.method, endpoint.path, view, None)
    view.schema.get_operation(endpoint.path, "", "^/api/v1", endpoint.method, ComponentRegistry())
    found = view.schema.get_request_serializer()
    if isinstance(found, type) and issubclass(found, serializers.BaseSerializer):
        return found()
    if isinstance(found, serializers.BaseSerializer):
        return found
    return None


def _model_named(name: str) -> type[models.Model] | None:
    """`collection` → Collection; `bot` → Chatbot and `embedding_provider` → ChatbotProvider when exactly one
    organization-owned model's name ends that way."""
    scoped = org_scoped_models()
    key = name.replace("_", "").lower()
    for candidates in (
        [m for m in scoped if m._meta.model_name == key],
        [m for m in scoped if (m._meta.model_name or "").endswith(key)],
        [m for m in scoped if (m._meta.model_name or "").endswith(name.rsplit("_", 1)[-1].lower())],
    ):
        if len(candidates) == 1:
            return candidates[0]
    return None


def kwarg_model(endpoint: Endpoint, kwarg: str) -> type[models.Model] | None:
    cls = endpoint.view_class
    declared = getattr(cls, "isolation_kwarg_models", {}) or {}
    if kwarg in declared:
        return declared[kwarg]  # type: ignore[no-any-return]
    model = getattr(cls, "model", None) or getattr(getattr(cls, "queryset", None), "model", None)
    lookups = {*DETAIL_KWARGS, getattr(cls, "lookup_url_kwarg", None) or "", getattr(cls, "lookup_field", "") or ""}
    if kwarg in lookups and model is not None:
        return model  # type: ignore[no-any-return]
    for suffix in ("_id", "_pk", "_uuid"):
        if kwarg.endswith(suffix):
            return _model_named(kwarg.removesuffix(suffix))
    return None


def field_reference_model(endpoint: Endpoint, name: str, fld: serializers.Field) -> type[models.Model] | None:
    """The org-scoped model a request field points at, or None when it is not a reference."""
    if isinstance(fld, serializers.ManyRelatedField):
        fld = fld.child_relation
    if isinstance(fld, serializers.PrimaryKeyRelatedField):
        queryset = fld.queryset
        model = getattr(queryset, "model", None)
        return model if model in org_scoped_models() else None
    declared = getattr(endpoint.view_class, "isolation_field_models", {}) or {}
    if name in declared:
        return declared[name]  # type: ignore[no-any-return]
    inner = fld.child if isinstance(fld, serializers.ListField) else fld
    if isinstance(inner, serializers.UUIDField):
        for suffix in ("_ids", "_id"):
            if name.endswith(suffix):
                return _model_named(name.removesuffix(suffix)) or _Unresolved
    return None


# Marker: a `<something>_id` UUID field whose model could not be guessed.
_Unresolved: Any = object()


def _is_many(fld: serializers.Field) -> bool:
    return isinstance(fld, serializers.ManyRelatedField | serializers.ListField)


def sample_value(fld: serializers.Field) -> Any:
    """A plausible valid value for a request field, so that only the probed field can be wrong."""
    if isinstance(fld, serializers.ChoiceField):
        choices = list(fld.choices)
        return choices[0] if choices else "probe"
    if isinstance(fld, serializers.EmailField):
        return f"probe-{uuid.uuid4().hex[:8]}@example.com"
    if isinstance(fld, serializers.URLField):
        return "https://example.com/"
    if isinstance(fld, serializers.UUIDField):
        return str(uuid.uuid4())
    if isinstance(fld, serializers.BooleanField):
        return False
    if isinstance(fld, serializers.IntegerField):
        return max(1, fld.min_value or 1)
    if isinstance(fld, serializers.FloatField | serializers.DecimalField):
        return max(1, fld.min_value or 1)
    if isinstance(fld, serializers.DateTimeField):
        return (timezone.now() + timedelta(days=1)).isoformat()  # expiries must lie ahead
    if isinstance(fld, serializers.ListField):
        return [sample_value(fld.child)]
    if isinstance(fld, serializers.DictField | serializers.JSONField):
        return {}
    if isinstance(fld, serializers.BaseSerializer):
        return _sample_payload(fld)  # nested object
    if isinstance(fld, serializers.CharField):
        return "probe" + "x" * max(0, (fld.min_length or 0) - 5)
    return "probe"


def _sample_payload(serializer: Any) -> dict[str, Any]:
    """Values for the required fields only: optional ones keep their defaults."""
    return {
        name: sample_value(fld)
        for name, fld in serializer.fields.items()
        if fld.required and not fld.read_only and not isinstance(fld, serializers.FileField)
    }


@dataclass
class World:
    """Two organizations with one object of every registered model each; A's owner makes the requests."""

    org_a: Organization
    org_b: Organization
    client_a: APIClient
    factories: dict[type[models.Model], Callable[..., models.Model]]
    objects: dict[tuple[int, type[models.Model]], models.Model] = field(default_factory=dict)

    def obj(self, organization: Organization, model: type[models.Model]) -> models.Model:
        key = (0 if organization == self.org_a else 1, model)
        if key not in self.objects:
            if model not in self.factories:
                raise MissingFactory(model)
            self.objects[key] = self.factories[model](organization=organization)
        return self.objects[key]

    def populate(self) -> None:
        for model in list(self.factories):
            for organization in (self.org_a, self.org_b):
                self.obj(organization, model)

    def foreign_ids(self) -> set[str]:
        """Every id that belongs to organization B: its objects, their users, and B itself."""
        ids = {str(self.org_b.pk)}
        for (side, _model), obj in self.objects.items():
            if side != 1:
                continue
            ids.add(str(obj.pk))
            for fk in obj._meta.concrete_fields:
                if isinstance(fk, models.ForeignKey) and fk.related_model is not Organization:
                    related_id = getattr(obj, fk.attname)
                    if related_id is not None and fk.related_model._meta.model_name == "user":
                        ids.add(str(related_id))
        return ids


class MissingFactory(Exception):
    def __init__(self, model: type[models.Model]) -> None:
        super().__init__(
            f"No factory for {model._meta.label}: add a factory_boy DjangoModelFactory for it in "
            f"apps/{model._meta.app_config.label if model._meta.app_config else '<app>'}/tests/factories.py "
            f"(or call register_factory) so the tenant isolation suite can create one per organization."
        )


def _strings(data: Any) -> Iterable[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(data, list | tuple):
        for value in data:
            yield from _strings(value)
    elif data is not None:
        yield str(data)


def _body(response: Any) -> Any:
    try:
        return response.json()
    except Exception:
        return None


def _call(world: World, endpoint: Endpoint, url: str, payload: dict[str, Any] | None = None) -> Any:
    return world.client_a.generic(
        endpoint.method,
        url,
        data=json.dumps(payload or {}) if endpoint.method in WRITE_METHODS else "",
        content_type="application/json",
    )


def _url(endpoint: Endpoint, values: dict[str, str]) -> str:
    url = endpoint.path
    for key, value in values.items():
        url = url.replace("{" + key + "}", value)
    return url


def check_endpoint(endpoint: Endpoint, world: World) -> list[str]:
    """Problems found for one endpoint; empty when it keeps organization B's data away from A."""
    problems: list[str] = []
    try:
        world.populate()
        kwarg_models: dict[str, type[models.Model]] = {}
        for kwarg in endpoint.kwargs:
            model = kwarg_model(endpoint, kwarg)
            if model is None:
                return [
                    f"{endpoint}: cannot tell which model the URL kwarg `{kwarg}` names; set `model` on "
                    f"{endpoint.view_class.__name__} or declare isolation_kwarg_models = {{{kwarg!r}: Model}}."
                ]
            kwarg_models[kwarg] = model

        # 1. Another organization's objects in the URL → 404, whatever the method.
        if endpoint.kwargs:
            foreign = {k: str(world.obj(world.org_b, m).pk) for k, m in kwarg_models.items()}
            response = _call(world, endpoint, _url(endpoint, foreign), _payload_for(endpoint, world) or {})
            if response.status_code != 404:
                problems.append(
                    f"{endpoint}: organization B's object in the URL answered {response.status_code} "
                    f"instead of 404: {_body(response)}"
                )

        # 2. Reads never include another organization's ids.
        if endpoint.method == "GET":
            own = {k: str(world.obj(world.org_a, m).pk) for k, m in kwarg_models.items()}
            response = _call(world, endpoint, _url(endpoint, own))
            if response.status_code >= 500:
                problems.append(f"{endpoint}: answered {response.status_code} to organization A's owner.")
            foreign_ids = world.foreign_ids()
            leaked = {s for s in _strings(_body(response)) for fid in foreign_ids if fid in s}
            if leaked:
                problems.append(f"{endpoint}: the response includes organization B's ids: {sorted(leaked)[:5]}")

        # 3. Writes cannot reference another organization's objects in the body.
        if endpoint.method in WRITE_METHODS:
            problems.extend(_check_references(endpoint, world, kwarg_models))
    except MissingFactory as exc:
        problems.append(f"{endpoint}: {exc}")
    return problems


def _payload_for(endpoint: Endpoint, world: World) -> dict[str, Any] | None:
    if endpoint.method not in WRITE_METHODS:
        return None
    serializer = request_serializer(endpoint)
    payload = _sample_payload(serializer) if serializer is not None else {}
    payload.update(getattr(endpoint.view_class, "isolation_payload", {}) or {})
    if serializer is not None:
        for name, fld in serializer.fields.items():
            if name not in payload:
                continue  # optional references are left out; each is probed on its own
            model = field_reference_model(endpoint, name, fld)
            if model is not None and model is not _Unresolved and not fld.read_only:
                own = str(world.obj(world.org_a, model).pk)
                payload[name] = [own] if _is_many(fld) else own
    return payload


def _check_references(endpoint: Endpoint, world: World, kwarg_models: dict[str, type[models.Model]]) -> list[str]:
    serializer = request_serializer(endpoint)
    if serializer is None:
        return []
    problems = []
    own_kwargs = {k: str(world.obj(world.org_a, m).pk) for k, m in kwarg_models.items()}
    url = _url(endpoint, own_kwargs)
    for name, fld in serializer.fields.items():
        if fld.read_only:
            continue
        model = field_reference_model(endpoint, name, fld)
        if model is None:
            continue
        if model is _Unresolved:
            problems.append(
                f"{endpoint}: cannot tell which model the request field `{name}` references; declare "
                f"isolation_field_models = {{{name!r}: Model}} on {endpoint.view_class.__name__}."
            )
            continue
        payload = _payload_for(endpoint, world) or {}
        foreign = str(world.obj(world.org_b, model).pk)
        payload[name] = [foreign] if _is_many(fld) else foreign
        response = _call(world, endpoint, url, payload)
        body = _body(response) or {}
        details = body.get("error", {}).get("details", {}) if isinstance(body, dict) else {}
        if response.status_code == 404:
            continue
        if response.status_code == 400 and isinstance(details, dict) and name in details:
            continue
        if 200 <= response.status_code < 300:
            problems.append(
                f"{endpoint}: accepted organization B's {model.__name__} in `{name}` ({response.status_code})."
            )
        else:
            problems.append(
                f"{endpoint}: referencing organization B's {model.__name__} in `{name}` must answer 404 or 400 "
                f"naming `{name}`; got {response.status_code} {body}. If the generated body was wrong for "
                f"another reason, declare isolation_payload on {endpoint.view_class.__name__}."
            )
    return problems
