"""A queryset's statement compiled once per process and run again with other values, for hot paths where the ORM
building and compiling the same query on every call costs more than the query itself (ADR 0134).

`Statement(build, organization_id=uuid.uuid4())` calls `build(organization_id=<the sample>)` once, the first time it
is used, compiles the queryset to SQL, and finds where the sample value sits among the statement's parameters.
`rows(organization_id=x)` then runs that SQL with `x` in the sample's place and returns the rows as tuples of the
columns `build` selects, as the database driver returns them: no field's `from_db_value` runs, so select plain
columns (UUIDs, numbers, text, timestamps), not JSON or encrypted fields. The SQL stays the ORM's own: a change to
the query is made in `build`, never in a hand-written copy.

Only for querysets whose SQL does not depend on the values: equality filters on scalar values, not `__in` lists
(their number of placeholders depends on the list) and not None (the ORM turns `= None` into `IS NULL`). Each
sample must be a value of the field's type that appears nowhere else among the parameters (a fresh UUID, a unique
string); the first use refuses the statement otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet


class Statement:
    def __init__(self, build: Callable[..., QuerySet[Any, Any]], *, using: str = "default", **samples: Any) -> None:
        self._build = build
        self._samples = samples
        self._using = using
        self._compiled: tuple[str, tuple[Any, ...], dict[str, int]] | None = None
        self._lock = threading.Lock()

    def compiled(self) -> tuple[str, tuple[Any, ...], dict[str, int]]:
        """The statement, its parameters as compiled from the samples, and each sample's position among them."""
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    self._compiled = self._compile()
        return self._compiled

    def _compile(self) -> tuple[str, tuple[Any, ...], dict[str, int]]:
        queryset = self._build(**self._samples)
        sql, params = queryset.query.get_compiler(using=self._using).as_sql()
        positions: dict[str, int] = {}
        for name, sample in self._samples.items():
            found = [index for index, param in enumerate(params) if param == sample]
            if len(found) != 1:
                raise ImproperlyConfigured(
                    f"The sample for {name!r} appears {len(found)} times among the statement's parameters; "
                    "it must appear exactly once (a value of its own, not an `__in` list, not None)."
                )
            positions[name] = found[0]
        return sql, tuple(params), positions

    def params(self, **values: Any) -> list[Any]:
        """The statement's parameters with `values` in the samples' places (every sample must be given)."""
        _sql, params, positions = self.compiled()
        if values.keys() != positions.keys():
            raise TypeError(f"Values for {sorted(positions)} are needed, got {sorted(values)}.")
        bound = list(params)
        for name, value in values.items():
            if value is None:
                raise ValueError(f"{name!r} is None: the compiled statement compares with '=', not 'IS NULL'.")
            bound[positions[name]] = value
        return bound

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        """The rows of the statement run with `values`, as tuples of the selected columns."""
        sql = self.compiled()[0]
        with connections[self._using].cursor() as cursor:
            cursor.execute(sql, self.params(**values))
            return list(cursor.fetchall())
