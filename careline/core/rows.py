"""Model instances from hand-written SQL, for the few queries every request runs.

`Model.objects.raw()` works out its column mapping and value converters again on every
call, which costs more than the query on these paths. Here both are worked out once per
model and database: the caller writes the FROM and WHERE, the SELECT list is the model's own
columns (plus any extra expressions), and each value goes through the same converters the
ORM would apply (so SQLite's datetimes come back aware, JSON comes back decoded).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections, router
from django.db.models import Model

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


@functools.cache
def _shape(
    model: type[Model], alias: str
) -> tuple[str, list[str], list[tuple[Any, list[Converter]]]]:
    connection = connections[alias]
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(f"{{t}}.{connection.ops.quote_name(f.column)}" for f in fields)
    converters = [
        (
            f.cached_col,
            [
                *connection.ops.get_db_converters(f.cached_col),
                *f.get_db_converters(connection),  # type: ignore[attr-defined]
            ],
        )
        for f in fields
    ]
    return columns, [f.attname for f in fields], converters


def select(
    model: type[M],
    from_where: str,
    params: Sequence[Any],
    *,
    table_alias: str = "t",
    extra: Sequence[str] = (),
) -> list[tuple[M, tuple[Any, ...]]]:
    """`SELECT <model's columns>[, extra...] <from_where>`: each row as an instance and the
    values of the extra expressions. `from_where` names the model's table `table_alias`."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    columns, attnames, converters = _shape(model, alias)
    select_list = columns.format(t=table_alias)
    if extra:
        select_list += ", " + ", ".join(extra)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select_list} {from_where}", params)
        fetched = cursor.fetchall()
    width = len(attnames)
    result = []
    for row in fetched:
        values = []
        for value, (expression, chain) in zip(row[:width], converters, strict=True):
            for convert in chain:
                value = convert(value, expression, connection)
            values.append(value)
        result.append((model.from_db(alias, attnames, values), tuple(row[width:])))
    return result
