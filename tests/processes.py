"""Helpers for tests that run real processes: free ports, waiting, databases of their own.

A `careline` subprocess needs a database of its own. Migrating one afresh takes longer than
most of these tests then spend on their subject, so they start from a copy of this test
run's already-migrated database, made once per run (`make_template`) and cloned per test in
a fraction of a second (`database_copy`):

- SQLite: the run's in-memory database, written to a file with SQLite's backup API, and that
  file copied;
- PostgreSQL: a template database cloned from the test database, and CREATE DATABASE ...
  TEMPLATE from it.

`scratch_database` gives an empty database instead, for the test that is about migrating one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from django.db import connection


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, condition: Callable[[], Any], timeout: float) -> Any:
    """Poll `condition` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def admin_dsn(dbname: str = "postgres") -> dict[str, Any]:
    """psycopg.connect() arguments for the test run's PostgreSQL server, as its superuser."""
    db = connection.settings_dict
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"] or "postgres",
        "dbname": dbname,
        "autocommit": True,
    }


def _postgres_url(dbname: str) -> str:
    dsn = admin_dsn(dbname)
    return f"postgres://{dsn['user']}@{dsn['host']}:{dsn['port']}/{dbname}"


def _subprocess_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CARELINE_DATA_DIR"] = str(data_dir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def make_template(directory: Path) -> str:
    """A copy of the migrated test database: a file path (SQLite) or a database name.

    Call it outside any test transaction (tests/conftest.py's `migrated_template` does), so
    the copy holds what the migrations made and nothing a test wrote.
    """
    if connection.vendor != "postgresql":
        connection.ensure_connection()
        path = directory / "template.sqlite3"
        with contextlib.closing(sqlite3.connect(path)) as copy:
            connection.connection.backup(copy)
        return str(path)
    source = str(connection.settings_dict["NAME"])
    name = f"{source}_tpl"[:63]
    # A template must have no other sessions: ours closes; any other of this run's threads
    # (long gone) is ended.
    connection.close()
    with psycopg.connect(**admin_dsn()) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [source],
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return name


def drop_template(template: str) -> None:
    if connection.vendor == "postgresql":
        with psycopg.connect(**admin_dsn()) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


@contextlib.contextmanager
def database_copy(template: str, data_dir: Path, label: str) -> Iterator[dict[str, str]]:
    """Environment for a `careline` subprocess whose database is a fresh copy of `template`
    (already migrated: the process's start-up migration finds nothing to do)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _subprocess_env(data_dir)
    if connection.vendor != "postgresql":
        shutil.copy(template, data_dir / "careline.sqlite3")
        yield env
        return
    yield from _postgres_scratch(env, label, f' TEMPLATE "{template}"')


@contextlib.contextmanager
def scratch_database(data_dir: Path, label: str) -> Iterator[dict[str, str]]:
    """Environment for a `careline` subprocess with an empty database of its own, of this test
    run's kind: no SQLite file yet under `data_dir`, or on PostgreSQL a scratch database
    created here and dropped afterwards. Only for tests about migrating; the others start
    from `database_copy`."""
    env = _subprocess_env(data_dir)
    if connection.vendor != "postgresql":
        yield env
        return
    yield from _postgres_scratch(env, label, "")


def _postgres_scratch(env: dict[str, str], label: str, create_as: str) -> Iterator[dict[str, str]]:
    """`env` pointed at a PostgreSQL database made for this test (`CREATE DATABASE ...` plus
    `create_as`), dropped afterwards."""
    name = f"careline_{label}_{os.getpid()}".lower().replace("-", "_")[:63]
    with psycopg.connect(**admin_dsn()) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"{create_as}')
    env["DATABASE_URL"] = _postgres_url(name)
    try:
        yield env
    finally:
        with psycopg.connect(**admin_dsn()) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
