"""The dashboards' settings, read and checked once: a mistyped value stops start-up, naming
the variable, instead of drawing a wrong figure."""

from __future__ import annotations

from datetime import time

from django.conf import settings

from careline.env import ImproperSetting


def uptime_targets() -> dict[int, float]:
    """Each service tier's uptime target in per cent (CARELINE_UPTIME_TARGETS: tier 1, 2, 3)."""
    raw = list(settings.UPTIME_TARGETS)
    try:
        values = [float(v) for v in raw]
    except ValueError:
        values = []
    if len(values) != 3 or not all(0 < v <= 100 for v in values):
        raise ImproperSetting(
            "CARELINE_UPTIME_TARGETS must be three percentages for tiers 1, 2 and 3, "
            f"such as 99.9,99.5,99.0 (got {','.join(raw)!r})"
        )
    return dict(enumerate(values, start=1))


def night() -> tuple[time, time]:
    """When a page counts as a night page (CARELINE_NIGHT_HOURS, local time at the site)."""
    raw = str(settings.NIGHT_HOURS)
    try:
        first, last = (time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError:
        raise ImproperSetting(
            f"CARELINE_NIGHT_HOURS must be two times such as 22:00-07:00 (got {raw!r})"
        ) from None
    if first == last:
        raise ImproperSetting(f"CARELINE_NIGHT_HOURS must not start and end at once (got {raw!r})")
    return first, last


def check() -> None:
    """Called at start-up (ReportsConfig.ready)."""
    uptime_targets()
    night()
