"""Saving new rows of several models in one round trip, for hot paths where the ORM's save costs more than the work.

`insert_rows(a, b, c)` sends the INSERTs of unsaved model instances as one query string: PostgreSQL runs them in
order (each sees the rows before it, and its triggers fire as usual) and, outside a transaction, as one implicit
transaction, so they are saved all or none. Values are prepared by each field as the ORM prepares them (defaults,
`auto_now`, JSON); a field with a database default is left to the database, and the last row's `returning`
columns are read back onto it. No model signals are sent: use it only for models nothing listens to.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connections
from django.db.models import NOT_PROVIDED, Field, Model
from psycopg import _queries as psycopg_queries

# psycopg keeps the parse of a query's placeholders (for binding them on the client) only for queries of at most 50
# parameters; a new conversation's rows are about 70, so their statement string was parsed again for every
# question. Our statement strings are few and fixed per combination of models, so they are kept too (ADR 0125).
CACHED_STATEMENT_PARAMS = 128
if getattr(psycopg_queries, "MAX_CACHED_STATEMENT_PARAMS", CACHED_STATEMENT_PARAMS) < CACHED_STATEMENT_PARAMS:
    psycopg_queries.MAX_CACHED_STATEMENT_PARAMS = CACHED_STATEMENT_PARAMS


@cache
def _insert_sql(model: type[Model]) -> tuple[str, tuple[Field[Any, Any], ...]]:
    fields = tuple(field for field in model._meta.local_concrete_fields if field.db_default is NOT_PROVIDED)
    quote = connections["default"].ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join("%s" for _ in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})", fields


def insert_rows(*instances: Model, returning: tuple[str, ...] = (), using: str = "default") -> None:
    """INSERT `instances` in order with one statement string (one round trip); `returning` names columns of the
    last row that the database sets (a trigger, a database default), read back onto that instance."""
    connection = connections[using]
    statements: list[str] = []
    params: list[Any] = []
    for instance in instances:
        sql, fields = _insert_sql(type(instance))
        statements.append(sql)
        params.extend(field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields)
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
