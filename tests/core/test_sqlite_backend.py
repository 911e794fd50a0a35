"""CareLine's SQLite backend on a real database file: writers queue on a file lock, and the
write-ahead log is copied back into the database by the committing connection once it has
let the lock go, never by SQLite inside a COMMIT."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from careline.dbbackends.sqlite3.base import CHECKPOINT_EVERY


@pytest.fixture
def on_file(tmp_path: Path, django_db_blocker: Any) -> Iterator[tuple[Any, Path]]:
    # A database of its own, outside the suite's test database (which is in memory).
    with django_db_blocker.unblock():
        yield from _file_database(tmp_path)


def _file_database(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    path = tmp_path / "careline.sqlite3"
    options = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    options["transaction_mode"] = "IMMEDIATE"
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "careline.dbbackends.sqlite3",
                "NAME": str(path),
                "OPTIONS": options,
            }
        }
    )
    conn = handler["default"]  # its own connection, not the suite's
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE reading (id INTEGER PRIMARY KEY, value TEXT)")
    conn.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    yield conn, path
    conn.close()


def _in_database_file(path: Path) -> int:
    """Rows the database file itself holds, not counting what waits in the log."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as reader:
        return int(reader.execute("SELECT COUNT(*) FROM reading").fetchone()[0])


def _write_one(conn: Any, n: int, *, fail: bool = False) -> None:
    """One transaction as `atomic()` runs it on SQLite: BEGIN IMMEDIATE, the write, COMMIT."""
    conn._start_transaction_under_autocommit()
    assert conn._write_lock_fd is not None  # queued on the lock file, now holding it
    with conn.cursor() as cursor:
        cursor.execute("INSERT INTO reading (value) VALUES (%s)", [f"r{n}"])
    if fail:
        conn.rollback()
    else:
        conn.commit()


def test_sqlite_never_checkpoints_inside_a_commit(on_file: tuple[Any, Path]) -> None:
    conn, _ = on_file
    assert conn.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert conn.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_log_is_copied_back_after_every_few_commits(on_file: tuple[Any, Path]) -> None:
    conn, path = on_file
    for n in range(CHECKPOINT_EVERY - 1):
        _write_one(conn, n)
    # Committed (another connection sees them) but still only in the log.
    assert _in_database_file(path) == 0
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT COUNT(*) FROM reading").fetchone()[0] == CHECKPOINT_EVERY - 1
    _write_one(conn, CHECKPOINT_EVERY)
    assert _in_database_file(path) == CHECKPOINT_EVERY
    # The lock file was let go before the checkpoint, and is free now.
    assert conn._write_lock_fd is None


def test_a_rolled_back_transaction_counts_for_nothing(on_file: tuple[Any, Path]) -> None:
    conn, path = on_file
    for n in range(CHECKPOINT_EVERY - 1):
        _write_one(conn, n)
    _write_one(conn, -1, fail=True)
    assert conn._write_lock_fd is None
    assert _in_database_file(path) == 0
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT COUNT(*) FROM reading").fetchone()[0] == CHECKPOINT_EVERY - 1
