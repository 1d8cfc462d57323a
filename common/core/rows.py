"""Reading a row and the rows it joins with a fixed statement string, back into model instances, without the ORM
building and compiling the query for every read (for hot paths: the member's authentication, ADR 0126).

`JoinedColumns((Membership, "m"), (User, "u"))` names every concrete column of each model under its alias, in the
order `instances(row)` reads them back: one instance per model, each value converted as the ORM converts it (the
field's `from_db_value`, the backend's converters), built with `Model.from_db` as a queryset builds it (the
`post_init` signal included). The statement around the columns is the caller's, built once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Model

Converter = Callable[[Any, Any, Any], Any]


class JoinedColumns:
    def __init__(self, *parts: tuple[type[Model], str], using: str = "default") -> None:
        self.using = using
        connection = connections[using]
        quote = connection.ops.quote_name
        self.parts: list[tuple[type[Model], list[str], list[tuple[int, Any, list[Converter]]]]] = []
        columns: list[str] = []
        for model, alias in parts:
            fields = model._meta.concrete_fields
            converters = []
            for index, field in enumerate(fields):
                column = field.get_col(alias)
                found = [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]
                if found:
                    converters.append((index, column, found))
            self.parts.append((model, [field.attname for field in fields], converters))
            columns += [f"{alias}.{quote(field.column)}" for field in fields]
        self.select = ", ".join(columns)

    def instances(self, row: Sequence[Any]) -> list[Model]:
        """One instance per model of the constructor, from a row of `self.select`'s columns."""
        connection = connections[self.using]
        built: list[Model] = []
        start = 0
        for model, attnames, converters in self.parts:
            values = list(row[start : start + len(attnames)])
            start += len(attnames)
            for index, column, functions in converters:
                for function in functions:
                    values[index] = function(values[index], column, connection)
            built.append(model.from_db(self.using, attnames, values))
        return built
