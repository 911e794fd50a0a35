"""Per-process caching of configuration read on hot paths (SLA policies, routing rules,
departments and services by code).

Values are kept as they are, not pickled: a hit costs a dictionary lookup. Callers treat
cached objects as read-only; an edit made in this process calls `forget()`, and other
processes see it once their copy expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

_store: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def cached(key: str, compute: Callable[[], T], seconds: float) -> T:
    """The cached value, computed on a miss; None is a value like any other. A computation
    that raises caches nothing."""
    entry = _store.get(key)
    now = time.monotonic()
    if entry is not None and entry[0] > now:
        return cast(T, entry[1])
    value = compute()
    with _lock:
        _store[key] = (now + seconds, value)
    return value


def forget(*keys: str) -> None:
    with _lock:
        for key in keys:
            _store.pop(key, None)


def clear() -> None:
    with _lock:
        _store.clear()
