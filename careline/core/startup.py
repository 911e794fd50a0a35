"""Starting a long-running process: the database brought up to date (safely when several
processes start at once), and what the start made set aside from the garbage collector."""

from __future__ import annotations

import contextlib
import fcntl
import gc
from collections.abc import Iterator
from pathlib import Path

from django.core.management import call_command
from django.db import connection

_PG_MIGRATE_LOCK = 0x43_41_52_45_4D_49_47  # "CAREMIG"


@contextlib.contextmanager
def _migration_lock() -> Iterator[None]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_PG_MIGRATE_LOCK])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_PG_MIGRATE_LOCK])
        return
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:  # one process only: nothing to coordinate
        yield
        return
    lock_path = Path(name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate() -> None:
    """Apply every pending migration; a second process waits for the first, then finds none."""
    with _migration_lock():
        call_command("migrate", interactive=False, verbosity=0)


def freeze_start_up() -> None:
    """Everything made while starting (Django, the models, the schemas: some 200,000 objects)
    lives as long as the process. Frozen, the collector stops walking it: a full collection,
    which a busy process runs every few seconds, took 90-150 ms with all of it (every request
    a web worker held, every check an engine timed, waited) and takes about 1 ms without.
    Call once, when the process is built and before it starts its work."""
    gc.collect()  # what the start left behind is freed, not frozen
    gc.freeze()
