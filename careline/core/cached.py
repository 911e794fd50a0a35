"""Per-process caching of configuration read on hot paths (SLA policies, routing rules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from django.core.cache import cache

T = TypeVar("T")
_MISSING = object()


def cached(key: str, compute: Callable[[], T], seconds: int) -> T:
    """The cached value, computed on a miss; None is a value like any other."""
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, seconds)
    return cast(T, value)
