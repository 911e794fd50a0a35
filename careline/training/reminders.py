"""Reminders before training: an engine loop that emails everyone holding a place on a session
CARELINE_TRAINING_REMINDER_HOURS before it starts.

Each reminder is claimed by a conditional UPDATE of the registration's reminded_at, in the
transaction that queues the email: a second engine, or the next tick, finds it claimed and
sends nothing. Cancelled sessions and cancelled or waitlisted places are never reminded; a
place given from the waiting list inside the window is reminded on the next tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careline.core import audit
from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.oncall.outbox import batch
from careline.training.choices import RegistrationStatus, SessionStatus
from careline.training.models import Registration
from careline.training.services.common import email_person

log = logging.getLogger("careline.training")
BATCH = 200
INTERVAL_SECONDS = 60.0


def _due(now: datetime) -> list[Registration]:
    horizon = now + timedelta(hours=settings.TRAINING_REMINDER_HOURS)
    return list(
        Registration.objects.filter(
            status=RegistrationStatus.REGISTERED,
            reminded_at__isnull=True,
            session__status=SessionStatus.SCHEDULED,
            session__starts_at__gt=now,
            session__starts_at__lte=horizon,
        )
        .select_related("user", "session__service", "session__trainer", "session__site")
        .order_by("session__starts_at", "id")[:BATCH]
    )


def run_due(now: datetime) -> int:
    """Send the reminders that are due; how many were sent."""
    sent = 0
    for registration in _due(now):
        session = registration.session
        with transaction.atomic():
            claimed = Registration.objects.filter(
                pk=registration.pk,
                status=RegistrationStatus.REGISTERED,
                reminded_at__isnull=True,
                session__status=SessionStatus.SCHEDULED,
            ).update(reminded_at=now)
            if not claimed:
                continue  # cancelled meanwhile, or another engine got there first
            with batch():
                email_person(
                    registration.user,
                    session,
                    f"Reminder: {session.title} on {session.when()}",
                    "A reminder: you have a place on this training session. If you cannot "
                    "come, cancel your place so someone on the waiting list can have it.",
                    f"training:reminder:{registration.pk}:{session.starts_at.isoformat()}",
                )
            audit.record(
                "training_registration.reminded",
                obj=registration,
                summary=f"{registration.user.username} reminded of training session "
                f"{session.pk} ({session.title})",
            )
            sent += 1
    if sent:
        log.info("training reminders sent=%s", sent)
    return sent


async def _tick() -> None:
    await db(run_due, timezone.now())


def register() -> None:
    shared = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    register_loop(
        LoopSpec(
            "training-reminders",
            interval_s=INTERVAL_SECONDS,
            tick=_tick,
            # The conditional UPDATE lets several PostgreSQL engines share the work.
            leader_only=not shared,
        )
    )
