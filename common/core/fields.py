"""Integer inputs bounded by the database column they end up in, so an oversized number is a 400, not a 500."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import connection, models
from rest_framework import serializers

BIGINT_RANGE = (-(2**63), 2**63 - 1)


def column_range(model: type[models.Model], field_name: str) -> tuple[int, int]:
    """The smallest and largest value the column behind `model.field_name` can hold."""
    field = model._meta.get_field(field_name)
    assert isinstance(field, models.IntegerField), f"{model.__name__}.{field_name} is not an integer column"
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    return (BIGINT_RANGE[0] if low is None else low, BIGINT_RANGE[1] if high is None else high)


def _bounds(
    model: type[models.Model], field_name: str, min_value: int | None, max_value: int | None
) -> tuple[int, int]:
    low, high = column_range(model, field_name)
    return (low if min_value is None else max(low, min_value), high if max_value is None else min(high, max_value))


def model_integer_field(
    model: type[models.Model],
    field_name: str,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    **kwargs: Any,
) -> serializers.IntegerField:
    """A DRF IntegerField for `model.field_name`, never wider than its column."""
    low, high = _bounds(model, field_name, min_value, max_value)
    return serializers.IntegerField(min_value=low, max_value=high, **kwargs)


def model_integer_form_field(
    model: type[models.Model],
    field_name: str,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    **kwargs: Any,
) -> forms.IntegerField:
    """The same bound for a Django form field."""
    low, high = _bounds(model, field_name, min_value, max_value)
    return forms.IntegerField(min_value=low, max_value=high, **kwargs)


class OptionalURLField(serializers.URLField):
    """A URL that may be absent, stored as an empty string: `null` in responses, since "" is no URI."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]
        return str(value) if value else None
