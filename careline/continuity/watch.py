"""The continuity loops. The downtime loop announces planned events when their notice falls
due, starts them at their start (the banner appears) and reminds at their planned end. The RPO
loop opens an incident for a backup older than its service's RPO (services.readiness).

Each step is claimed by a conditional UPDATE (see services.downtime), so a second engine or
the next tick finds it done and does nothing; the outbox keys make the emails once-only too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from careline.continuity.models import DowntimeEvent, DowntimeStatus
from careline.continuity.services import downtime, readiness
from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop

log = logging.getLogger("careline.downtime")
BATCH = 100


@dataclass(frozen=True)
class Done:
    announced: int
    started: int
    reminded: int


def run_due(now: datetime) -> Done:
    announced = started = reminded = 0
    due_notice = DowntimeEvent.objects.filter(
        status__in=[DowntimeStatus.SCHEDULED, DowntimeStatus.ACTIVE],
        notified_at__isnull=True,
        announce_at__lte=now,
    ).order_by("announce_at")[:BATCH]
    for event in due_notice:
        announced += downtime.send_notice(event, now)
    due_start = DowntimeEvent.objects.filter(
        status=DowntimeStatus.SCHEDULED, starts_at__lte=now
    ).order_by("starts_at")[:BATCH]
    for event in due_start:
        started += downtime.start(event, now)
    due_end = DowntimeEvent.objects.filter(
        status=DowntimeStatus.ACTIVE,
        kind="planned",
        end_reminded_at__isnull=True,
        ends_at__lte=now,
    ).order_by("ends_at")[:BATCH]
    for event in due_end:
        reminded += downtime.remind_end(event, now)
    return Done(announced, started, reminded)


async def _tick() -> None:
    done = await db(run_due, timezone.now())
    if done.announced or done.started or done.reminded:
        log.info(
            "downtime announced=%s started=%s reminded=%s",
            done.announced,
            done.started,
            done.reminded,
        )


async def _rpo_tick() -> None:
    await db(readiness.watch_rpo, timezone.now())


def register() -> None:
    shared = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    register_loop(
        LoopSpec(
            "downtime",
            interval_s=settings.DOWNTIME_INTERVAL_SECONDS,
            tick=_tick,
            leader_only=not shared,
        )
    )
    # Claims are conditional updates and an incident is one per job (a unique index), so a
    # second engine on a shared database does no harm.
    register_loop(
        LoopSpec(
            "rpo",
            interval_s=settings.RECOVERY_INTERVAL_SECONDS,
            tick=_rpo_tick,
            leader_only=not shared,
        )
    )
