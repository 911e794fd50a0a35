"""Apps add their part of the demo hospital here (in AppConfig.ready); each step is idempotent."""

from __future__ import annotations

from collections.abc import Callable

DEMO_STEPS: list[Callable[[], None]] = []
