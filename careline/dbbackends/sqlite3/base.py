"""Django's SQLite backend, with writers queued on a file lock instead of SQLite's busy loop.

SQLite lets one writer at a time hold the database. When another wants it, SQLite's busy
handler sleeps and retries with growing pauses (up to 100 ms each), so under a burst of
writes from several web workers a few unlucky requests wait for seconds while the lock sat
free between their naps. Here every transaction first takes an exclusive flock on a file
beside the database: the kernel hands it to the next waiter the moment it is released,
across threads and processes alike, and BEGIN IMMEDIATE then finds the database free.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base

# Django's private hooks this class wraps are not in its type stubs: reach them untyped.
_DJANGO: Any = base.DatabaseWrapper


class DatabaseWrapper(base.DatabaseWrapper):
    _write_lock_fd: int | None = None

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
            self._release_write_lock()

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
