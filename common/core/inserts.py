"""Saving new rows of several models in one round trip, for hot paths where the ORM's save costs more than the work.

`insert_rows(a, b, c)` sends the INSERTs of unsaved model instances as one query string: PostgreSQL runs them in
order (each sees the rows before it, and its triggers fire as usual) and, outside a transaction, as one implicit
transaction, so they are saved all or none. Values are prepared by each field as the ORM prepares them (defaults,
`auto_now`, JSON); a field with a database default is left to the database, and the last row's `returning`
columns are read back onto it. No model signals are sent: use it only for models nothing listens to.

Most values need no preparing: a plain Django text, number, boolean or UUID field (or a foreign key to one) given
None or a value of its own type prepares it to itself, so those are read as they are (ADR 0126); so does Django's
own DateTimeField on PostgreSQL given None or an aware datetime, and one stamped on insert (`auto_now`,
`auto_now_add`) is stamped as its `pre_save` stamps it (ADR 0133); every other field and value goes through the
field's own `pre_save` and `get_db_prep_save`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import cache, partial
from typing import Any

from django.db import connections, models
from django.db.models import NOT_PROVIDED, Field, Model
from django.utils import timezone
from psycopg import _queries as psycopg_queries

# psycopg keeps the parse of a query's placeholders (for binding them on the client) only for queries of at most 50
# parameters; a new conversation's rows are about 70, so their statement string was parsed again for every
# question. Our statement strings are few and fixed per combination of models, so they are kept too (ADR 0125).
CACHED_STATEMENT_PARAMS = 128
if getattr(psycopg_queries, "MAX_CACHED_STATEMENT_PARAMS", CACHED_STATEMENT_PARAMS) < CACHED_STATEMENT_PARAMS:
    psycopg_queries.MAX_CACHED_STATEMENT_PARAMS = CACHED_STATEMENT_PARAMS


# Django's own field classes whose `pre_save` is Field's and whose preparation of None or a value of this type is the
# value itself (`to_python` / `float()` of it, no adaptation on PostgreSQL) or, for integers, the backend's adaptation
# of it alone (`int()` of an int is itself); subclasses are not assumed to behave so.
_PREPARED_AS_IS: dict[type[Field[Any, Any]], type] = {
    **{
        kind: str for kind in (models.CharField, models.TextField, models.SlugField, models.EmailField, models.URLField)
    },
    **{
        kind: int
        for kind in (
            models.IntegerField,
            models.SmallIntegerField,
            models.BigIntegerField,
            models.PositiveIntegerField,
            models.PositiveSmallIntegerField,
            models.PositiveBigIntegerField,
        )
    },
    models.BooleanField: bool,
    models.FloatField: float,
}
Preparer = tuple[type, Callable[[Any], Any] | None]  # values of this type (and None) need only this (None: nothing)


class _StampedNow:
    """The kind of a DateTimeField stamped on insert: the time now, set on the instance (as its `pre_save` does)."""


def _preparer(field: Field[Any, Any], connection: Any) -> Preparer | None:
    """How `field` prepares None and values of one type without its own machinery, or None when it must use it."""
    if type(field) is models.ForeignKey:
        return _preparer(field.target_field, connection)
    if type(field) is models.UUIDField:
        return (uuid.UUID, None) if connection.features.has_native_uuid_field else None
    if type(field) is models.DateTimeField:
        # PostgreSQL's adaptation returns a datetime as it is; a naive one (a warning and the default time zone) is
        # left to the field. Stamping is DateTimeField.pre_save's own: timezone.now(), set on the instance.
        if connection.vendor != "postgresql":
            return None
        return (_StampedNow, None) if field.auto_now or field.auto_now_add else (datetime, None)
    kind = _PREPARED_AS_IS.get(type(field))
    if kind is int:
        return int, partial(_adapt_integer, connection.ops, field.get_internal_type())
    return None if kind is None else (kind, None)


def _adapt_integer(ops: Any, internal_type: str, value: Any) -> Any:
    return ops.adapt_integerfield_value(value, internal_type)


@cache
def _insert_sql(model: type[Model]) -> tuple[str, tuple[Field[Any, Any], ...], tuple[Preparer | None, ...]]:
    fields = tuple(field for field in model._meta.local_concrete_fields if field.db_default is NOT_PROVIDED)
    connection = connections["default"]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join("%s" for _ in fields)
    preparers = tuple(_preparer(field, connection) for field in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})", fields, preparers


def _values(
    instance: Model, fields: tuple[Field[Any, Any], ...], preparers: tuple[Preparer | None, ...], connection: Any
) -> list[Any]:
    values = []
    for field, preparer in zip(fields, preparers, strict=True):
        if preparer is not None:
            kind, adapt = preparer
            if kind is _StampedNow:
                value = timezone.now()
                setattr(instance, field.attname, value)
                values.append(value)
                continue
            value = getattr(instance, field.attname)
            if (
                value is None
                or (type(value) is kind and (kind is not datetime or value.utcoffset() is not None))
                or (kind is str and isinstance(value, str))
            ):
                values.append(value if adapt is None else adapt(value))
                continue
        values.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    return values


def insert_rows(*instances: Model, returning: tuple[str, ...] = (), using: str = "default") -> None:
    """INSERT `instances` in order with one statement string (one round trip); `returning` names columns of the
    last row that the database sets (a trigger, a database default), read back onto that instance."""
    connection = connections[using]
    statements: list[str] = []
    params: list[Any] = []
    for instance in instances:
        sql, fields, preparers = _insert_sql(type(instance))
        statements.append(sql)
        params.extend(_values(instance, fields, preparers, connection))
    if returning:
        quote = connection.ops.quote_name
        statements[-1] += " RETURNING " + ", ".join(quote(column) for column in returning)
    with connection.cursor() as cursor:
        cursor.execute("; ".join(statements), params)
        if returning:
            while cursor.nextset():  # the result of the last statement
                pass
            row = cursor.fetchone()
            for column, value in zip(returning, row, strict=True):
                setattr(instances[-1], column, value)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = using
