"""Django's SQLite backend, with writers queued on a file lock instead of SQLite's busy loop.

SQLite lets one writer at a time hold the database. When another wants it, SQLite's busy
handler sleeps and retries with growing pauses (up to 100 ms each), so under a burst of
writes from several web workers a few unlucky requests wait for seconds while the lock sat
free between their naps. Here every transaction first takes an exclusive flock on a file
beside the database: the kernel hands it to the next waiter the moment it is released,
across threads and processes alike, and BEGIN IMMEDIATE then finds the database free.

Checkpoints (copying the write-ahead log back into the database file, with an fsync) are
also moved out of the queue. SQLite runs one by itself inside the COMMIT that fills the log
past 1,000 pages, while this process still holds the lock: every 30 or so tickets one commit
took 18 ms instead of 0.5, and every writer waited behind it. Here SQLite's own checkpoints
are off, and each connection, after every `CHECKPOINT_EVERY` commits of its own, runs a
PASSIVE checkpoint once it has let the lock go: it copies what it can without waiting for,
or blocking, anyone.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base

# Django's private hooks this class wraps are not in its type stubs: reach them untyped.
_DJANGO: Any = base.DatabaseWrapper

# A new ticket writes about 30 pages to the log, so this keeps it near SQLite's own default
# of 1,000 pages per checkpoint with one writing process, and under it with several.
CHECKPOINT_EVERY = 32


class DatabaseWrapper(base.DatabaseWrapper):
    _write_lock_fd: int | None = None
    _commits_since_checkpoint = 0

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = super().get_new_connection(conn_params)
        if self._lock_path() is not None:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    def _lock_path(self) -> str | None:
        name = str(self.settings_dict["NAME"])
        if self.is_in_memory_db() or name.startswith("file:"):
            return None  # one process only: nothing to queue
        return name + ".write.lock"

    def _acquire_write_lock(self) -> None:
        path = self._lock_path()
        if path is None or self._write_lock_fd is not None:
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        except BaseException:
            os.close(fd)
            raise
        self._write_lock_fd = fd

    def _release_write_lock(self) -> None:
        fd, self._write_lock_fd = self._write_lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops its flock

    def _start_transaction_under_autocommit(self) -> None:
        self._acquire_write_lock()
        try:
            _DJANGO._start_transaction_under_autocommit(self)
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self) -> Any:
        try:
            return _DJANGO._commit(self)
        finally:
            if self._write_lock_fd is not None:
                self._release_write_lock()
                self._checkpoint_if_due()

    def _checkpoint_if_due(self) -> None:
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint >= CHECKPOINT_EVERY and self.connection is not None:
            self._commits_since_checkpoint = 0
            self.connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _rollback(self) -> Any:
        try:
            return _DJANGO._rollback(self)
        finally:
            self._release_write_lock()

    def _close(self) -> Any:
        try:
            return _DJANGO._close(self)
        finally:
            self._release_write_lock()
