"""Rows a change writes at its end, all at once, instead of one statement each.

A service that writes many small rows in one transaction (audit events, outbox messages)
opens a `batch()` around the change; everything added inside it is written when the block
ends, in the order added, and nothing if the block raises. Outside a batch a row is written
at once. A batch opened inside another joins it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Gathered(Generic[T]):
    def __init__(self, name: str, write: Callable[[list[T]], None]) -> None:
        self._pending: contextvars.ContextVar[list[T] | None] = contextvars.ContextVar(
            name, default=None
        )
        self._write = write

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if self._pending.get() is not None:
            yield
            return
        pending: list[T] = []
        token = self._pending.set(pending)
        try:
            yield
        finally:
            self._pending.reset(token)
        if pending:
            self._write(pending)

    def add(self, item: T) -> None:
        """Into the open batch, or written now when there is none."""
        pending = self._pending.get()
        if pending is not None:
            pending.append(item)
        else:
            self._write([item])
