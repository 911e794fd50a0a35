"""Human-readable numbers (INC-000123, CHG-000045) from per-key counter rows."""

from __future__ import annotations

from django.db import IntegrityError, connection, models, transaction


def take_next(counter: type[models.Model], key_field: str, key: str) -> int:
    """The next number of `key`, taken inside the caller's transaction, so a rollback gives it
    back. One statement increments and reads (both databases support RETURNING); the row lock
    it takes lasts to the end of the transaction, so numbers never repeat."""
    table = counter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last = last + 1 WHERE {key_field} = %s RETURNING last",  # noqa: S608  (names from the model)
            [key],
        )
        row = cursor.fetchone()
    if row is not None:
        return int(row[0])
    try:
        with transaction.atomic():
            counter._default_manager.create(**{key_field: key, "last": 1})
    except IntegrityError:
        return take_next(counter, key_field, key)  # another request created the row first
    return 1
