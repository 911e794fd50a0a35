"""History housekeeping: rollups every minute, retention every hour (an engine loop)."""

from __future__ import annotations

import logging
import time

from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.monitoring.services import history

log = logging.getLogger("careline.monitoring")
PRUNE_EVERY_S = 3600.0
_last_prune = 0.0


def run_once() -> None:
    global _last_prune
    made = history.roll_up()
    if any(made.values()):
        log.info("monitoring rollups minutes=%s hours=%s", made["minutes"], made["hours"])
    if time.monotonic() - _last_prune >= PRUNE_EVERY_S:
        _last_prune = time.monotonic()
        gone = history.prune()
        if any(gone.values()):
            log.info("monitoring history pruned %s", gone)


async def _tick() -> None:
    await db(run_once)


def register() -> None:
    register_loop(LoopSpec("monitor-history", interval_s=60.0, tick=_tick))
