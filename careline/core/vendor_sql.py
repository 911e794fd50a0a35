"""Raw SQL that differs between SQLite and PostgreSQL (triggers, full-text indexes), as a
migration operation. Kept stable: migrations import it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import migrations

VendorSql = Mapping[str, Sequence[str]]


def _runner(statements: VendorSql) -> Callable[[Any, Any], None]:
    def run(apps: Any, schema_editor: Any) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            # params=None: psycopg must not read the '%' in PL/pgSQL text as a placeholder.
            schema_editor.execute(statement, params=None)

    return run


def run_vendor_sql(up: VendorSql, down: VendorSql) -> migrations.RunPython:
    """A reversible operation running each database's own statements."""
    return migrations.RunPython(_runner(up), _runner(down))
