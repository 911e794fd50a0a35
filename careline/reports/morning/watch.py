"""The engine loop that sends each site's morning check at its check hour and its handover
at each shift end. Each is claimed in the database (services.send_check, send_handover), so
several engines on a shared PostgreSQL, or a restarted one, send each email once."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.reports.morning import services

log = logging.getLogger("careline.morning")
INTERVAL_SECONDS = 30.0


async def _tick() -> None:
    checks, handovers = await db(services.run_due, timezone.now())
    if checks or handovers:
        log.info("morning checks sent=%s handovers sent=%s", checks, handovers)


def register() -> None:
    shared = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    register_loop(
        LoopSpec(
            "morning-check",
            interval_s=INTERVAL_SECONDS,
            tick=_tick,
            # The claims let several PostgreSQL engines run it side by side.
            leader_only=not shared,
        )
    )
