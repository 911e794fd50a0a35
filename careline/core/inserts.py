"""INSERTs for the rows every request writes (tickets, audit events, notifications), with
the SQL text compiled by Django once and reused.

Django compiles an INSERT afresh for each save; for a model with thirty fields that costs
several times what the database spends storing the row. Here Django's own compiler builds
the statement the first time a shape (model, rows, conflict handling, database) is seen;
later calls only convert the values, through each field's own `pre_save` and
`get_db_prep_save`, exactly as a save would. No model signals are sent: use these only for
models that have no receivers (CareLine registers none).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

_statements: dict[tuple[Any, ...], str] = {}
_lock = threading.Lock()


def _insert_fields(model: type[Model], obj: Model) -> list[Field[Any, Any]]:
    meta = model._meta
    fields: list[Field[Any, Any]] = [f for f in meta.local_concrete_fields if not f.generated]
    if obj.pk is None and meta.auto_field is not None:
        fields = [f for f in fields if f is not meta.auto_field]
    return fields


def _run(
    model: type[Model], objs: Sequence[Model], on_conflict: OnConflict | None
) -> tuple[Any, int]:
    alias = router.db_for_write(model)
    connection = connections[alias]
    fields = _insert_fields(model, objs[0])
    returning = on_conflict is None and connection.features.can_return_columns_from_insert
    key = (model, alias, len(objs), tuple(f.attname for f in fields), on_conflict, returning)
    values = [field.pre_save(obj, True) for obj in objs for field in fields]
    # A value that is an expression (a database default, say) is compiled into the SQL text.
    plain = not any(hasattr(value, "resolve_expression") for value in values)
    sql = _statements.get(key) if plain else None
    if sql is None:
        query = InsertQuery(model, on_conflict=on_conflict)
        query.insert_values(fields, list(objs))
        compiler = query.get_compiler(using=alias)
        compiler.returning_fields = [model._meta.pk] if returning else None
        [(sql, params)] = compiler.as_sql()
        # Reusable when the values travel one placeholder each, row after row. (PostgreSQL
        # sends several rows as one array per column instead: those are compiled each time.)
        if plain and len(params) == len(values):
            with _lock:
                _statements[key] = sql
    else:
        params = tuple(
            field.get_db_prep_save(value, connection)
            for value, field in zip(values, fields * len(objs), strict=True)
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone() if returning else None
        written = cursor.rowcount
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias
    return (row[0] if row else None), written


def insert_one(obj: Model) -> None:
    """INSERT the new object and set its primary key, as `obj.save(force_insert=True)`."""
    pk, _ = _run(type(obj), [obj], None)
    if pk is not None and obj.pk is None:
        obj.pk = pk


def insert_ignoring_conflicts(objs: Sequence[Model]) -> int:
    """One INSERT of all the objects (of one model) that skips rows a unique constraint
    already holds, as `bulk_create(objs, ignore_conflicts=True)`; primary keys are not set.
    Returns how many rows it wrote."""
    if not objs:
        return 0
    return int(_run(type(objs[0]), objs, OnConflict.IGNORE)[1])
