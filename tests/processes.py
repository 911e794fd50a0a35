"""Helpers for tests that run real processes: free ports, waiting, scratch databases."""

from __future__ import annotations

import contextlib
import os
import socket
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


@contextlib.contextmanager
def scratch_database(data_dir: Path, label: str) -> Iterator[dict[str, str]]:
    """Environment for a `careline` subprocess with a database of its own.

    The same kind of database as this test run: a fresh SQLite file under `data_dir`, or on
    PostgreSQL a scratch database created here and dropped afterwards.
    """
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CARELINE_DATA_DIR"] = str(data_dir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if connection.vendor != "postgresql":
        yield env
        return
    db = connection.settings_dict
    name = f"careline_{label}_{os.getpid()}".lower().replace("-", "_")
    admin: dict[str, Any] = {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "user": db["USER"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    user = db["USER"] or "postgres"
    env["DATABASE_URL"] = (
        f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    )
    try:
        yield env
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
