"""Every integer an API accepts fits the column it is stored in: a number too large (or too small) for the
database is a 400 in the common error format, never a 500.

The input serializers are discovered from the URL configuration at test time (the request body each endpoint
declares), so fields other apps add are covered without editing this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from common.core.exceptions import api_exception_handler
from common.core.fields import BIGINT_RANGE, column_range

WRITE_METHODS = ("POST", "PUT", "PATCH")


def input_serializers() -> dict[type[serializers.BaseSerializer], str]:
    generator = SchemaGenerator()
    found: dict[type[serializers.BaseSerializer], str] = {}
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        if method not in WRITE_METHODS:
            continue
        view = generator.create_view(callback, method)
        declared = view.schema.get_request_serializer()
        cls = type(declared) if isinstance(declared, serializers.BaseSerializer) else declared
        if isinstance(cls, type) and issubclass(cls, serializers.BaseSerializer):
            found.setdefault(cls, f"{method} {path}")
    return found


def _integer_fields(serializer: serializers.Serializer, prefix: tuple[str, ...] = ()) -> Iterator[tuple[Any, ...]]:
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        path = (*prefix, name)
        if isinstance(field, serializers.IntegerField):
            yield path, field, False
        elif isinstance(field, serializers.ListField) and isinstance(field.child, serializers.IntegerField):
            yield path, field.child, True
        elif isinstance(field, serializers.Serializer):
            yield from _integer_fields(field, path)


def _narrowest_column(name: str) -> tuple[int, int]:
    """The tightest range among the integer columns of that name (a field named like a column is stored there)."""
    low, high = BIGINT_RANGE
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.name == name and isinstance(field, models.IntegerField):
                column_low, column_high = column_range(model, name)
                low, high = max(low, column_low), min(high, column_high)
    return low, high


CASES = []
for _cls, _endpoint in input_serializers().items():
    for _path, _field, _listed in _integer_fields(_cls()):
        _low, _high = _narrowest_column(_path[-1])
        for _value in sorted({_high + 1, _low - 1, 10**19, -(10**19), 3_000_000_000}):
            if _value > _high or _value < _low:
                CASES.append(pytest.param(_cls, _path, _listed, _value, id=f"{_endpoint} {'.'.join(_path)}={_value}"))


def test_integer_inputs_were_discovered():
    ids = {case.id.split("=")[0] for case in CASES}
    assert "POST /api/v1/api-keys rate_limit_per_minute" in ids
    assert "PATCH /api/v1/api-keys/limits monthly_token_quota" in ids


@pytest.mark.parametrize(("serializer_class", "path", "listed", "value"), CASES)
def test_an_out_of_range_integer_is_a_400_in_the_common_error_format(serializer_class, path, listed, value):
    data: Any = [value] if listed else value
    for name in reversed(path):
        data = {name: data}
    serializer = serializer_class(data=data, partial=True)
    with pytest.raises(ValidationError) as raised:
        serializer.is_valid(raise_exception=True)
    response = api_exception_handler(raised.value, {})
    assert response is not None and response.status_code == 400
    error = response.data["error"]
    assert error["code"] == "validation_error"
    details: Any = error["details"]
    for name in path:
        assert name in details, error
        details = details[name]
