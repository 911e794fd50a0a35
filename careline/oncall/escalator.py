"""The escalation loop: an engine loop that moves unacknowledged pages to their next level."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.oncall.services import answers

log = logging.getLogger("careline.paging")


async def _tick() -> None:
    moved = await db(answers.escalate_due, timezone.now())
    if moved:
        log.info("escalated pages=%s", moved)


def register() -> None:
    # Claims are conditional UPDATEs, so on PostgreSQL every engine may run it; on SQLite the
    # leader alone does, as with the other loops.
    shared = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    register_loop(
        LoopSpec(
            "escalation",
            interval_s=settings.ONCALL_ESCALATION_INTERVAL_SECONDS,
            tick=_tick,
            leader_only=not shared,
        )
    )
