"""The outcome of one check, shared by every kind."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

UP = "up"
DOWN = "down"
DEGRADED = "degraded"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    status: str  # "up" | "down" | "degraded"
    latency_ms: float
    # A plain sentence for down/degraded: "HTTP 503 from https://ehr.example.org/health".
    error: str = ""
    # The number the check carries: the JSON value, days to certificate expiry, query result.
    value: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started`, a `time.perf_counter()` reading."""
    return (time.perf_counter() - started) * 1000.0


def numeric(value: Any) -> float | None:
    """`value` as a float when it is a number (or a string holding one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    try:
        return float(value)  # Decimal from a database driver
    except (TypeError, ValueError):
        return None
