"""Maintenance windows: checks run, but nothing they find raises an incident or an alert."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter  # type: ignore[import-untyped]
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from careline.core import audit
from careline.core.errors import InvalidInput
from careline.core.models import ClinicalService, User
from careline.core.permissions import Perm, require
from careline.core.services import clean_name, service_by_code
from careline.monitoring.models import MaintenanceWindow, Monitor

# Recurring windows are listed at most this far ahead, and at most this many times.
EXPAND_DAYS = 35
EXPAND_MAX = 50


@dataclass(frozen=True)
class Occurrence:
    window: MaintenanceWindow
    starts_at: datetime
    ends_at: datetime


def _current(window: MaintenanceWindow, now: datetime) -> Occurrence | None:
    if window.starts_at > now or (window.ends_at is not None and now >= window.ends_at):
        return None
    if not window.recurrence:
        end = window.ends_at or now + timedelta(seconds=1)
        return Occurrence(window, window.starts_at, end)
    # The rule's latest start at or before now: one step back, never an expansion.
    local = now.astimezone(zoneinfo.ZoneInfo(window.time_zone)) + timedelta(seconds=1)
    start: datetime = croniter(window.recurrence, local).get_prev(datetime)
    end = start + timedelta(minutes=window.duration_minutes)
    if start < window.starts_at or now >= end:
        return None
    return Occurrence(window, start, end)


@dataclass(frozen=True)
class InForce:
    """A window in force now, with what it names read once: deciding for thousands of
    monitors costs no query and no set-building per monitor."""

    occurrence: Occurrence
    monitor_ids: frozenset[int]
    service_ids: frozenset[int]
    tags: frozenset[str]

    def silences(self, monitor: Monitor) -> bool:
        return (
            monitor.pk in self.monitor_ids
            or (monitor.service_id is not None and monitor.service_id in self.service_ids)
            or not self.tags.isdisjoint(monitor.tags or [])
        )


def in_force(now: datetime) -> list[InForce]:
    """Every window in force at `now` (one query, whatever the number of monitors)."""
    live = (
        MaintenanceWindow.objects.filter(starts_at__lte=now)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .prefetch_related("monitors", "services")
    )
    found = []
    for window in live:
        occurrence = _current(window, now)
        if occurrence is not None:
            found.append(
                InForce(
                    occurrence,
                    frozenset(m.pk for m in window.monitors.all()),
                    frozenset(s.pk for s in window.services.all()),
                    frozenset(window.tags),
                )
            )
    return found


def window_for(monitor: Monitor, now: datetime | None = None) -> Occurrence | None:
    """The maintenance window in force for this monitor now, if any."""
    now = now or timezone.now()
    return next((w.occurrence for w in in_force(now) if w.silences(monitor)), None)


def service_in_maintenance(service: ClinicalService | None, now: datetime) -> bool:
    if service is None:
        return False
    return any(service.pk in w.service_ids for w in in_force(now))


def upcoming(window: MaintenanceWindow, now: datetime) -> list[Occurrence]:
    """The window's next occurrences, bounded to EXPAND_DAYS ahead and EXPAND_MAX entries."""
    horizon = now + timedelta(days=EXPAND_DAYS)
    if not window.recurrence:
        end = window.ends_at or horizon
        return [Occurrence(window, window.starts_at, end)] if end > now else []
    found: list[Occurrence] = []
    current = _current(window, now)
    if current is not None:
        found.append(current)
    zone = zoneinfo.ZoneInfo(window.time_zone)
    itr = croniter(window.recurrence, max(now, window.starts_at).astimezone(zone))
    while len(found) < EXPAND_MAX:
        start: datetime = itr.get_next(datetime)
        if start > horizon or (window.ends_at is not None and start >= window.ends_at):
            break
        found.append(Occurrence(window, start, start + timedelta(minutes=window.duration_minutes)))
    return found


@transaction.atomic
def create_window(
    actor: User | None,
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    recurrence: str = "",
    duration_minutes: int = 60,
    time_zone: str = "UTC",
    monitors: list[int] | None = None,
    services: list[str] | None = None,
    tags: list[str] | None = None,
) -> MaintenanceWindow:
    if actor is not None:
        require(actor, Perm.MONITORS_MANAGE)
    if timezone.is_naive(starts_at):
        raise InvalidInput("must carry a time zone offset", field="starts_at")
    if recurrence:
        if len(recurrence.split()) != 5 or not croniter.is_valid(recurrence):
            raise InvalidInput(
                f"must be a five-field cron rule (got {recurrence[:60]!r})", field="recurrence"
            )
        if not 1 <= duration_minutes <= 7 * 24 * 60:
            raise InvalidInput(
                f"must be between 1 and 10080 (got {duration_minutes})", field="duration_minutes"
            )
    elif ends_at is None:
        raise InvalidInput("a one-off window needs its end", field="ends_at")
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("must be after starts_at", field="ends_at")
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {time_zone[:64]!r}", field="time_zone") from None
    if not (monitors or services or tags):
        raise InvalidInput("name at least one monitor, service or tag", field="monitors")
    window = MaintenanceWindow(
        name=clean_name(name),
        starts_at=starts_at,
        ends_at=ends_at,
        recurrence=recurrence,
        duration_minutes=duration_minutes,
        time_zone=time_zone,
        tags=sorted({t.strip().lower() for t in tags or [] if t.strip()}),
        created_at=timezone.now(),
    )
    window.save()
    if monitors:
        found = list(Monitor.objects.filter(pk__in=monitors))
        if len(found) != len(set(monitors)):
            raise InvalidInput("names a monitor that does not exist", field="monitors")
        window.monitors.set(found)
    if services:
        window.services.set([service_by_code(code, field="services") for code in services])
    audit.record(
        "maintenance.create",
        actor=actor,
        obj=window,
        summary=f"Maintenance window {window.name} from {starts_at:%Y-%m-%d %H:%M}",
    )
    return window


def end_window(actor: User | None, window_id: int, at: datetime) -> MaintenanceWindow | None:
    """End a window at `at`, or drop it before it starts (its change was cancelled): from
    then on it silences nothing. A window already over is left as it was; a recurring one
    keeps its past occurrences."""
    window = MaintenanceWindow.objects.select_for_update().filter(pk=window_id).first()
    if window is None or (window.ends_at is not None and window.ends_at <= at):
        return window
    window.starts_at = min(window.starts_at, at)
    window.ends_at = at
    window.save(update_fields=["starts_at", "ends_at"])
    audit.record(
        "maintenance.end",
        actor=actor,
        obj=window,
        summary=f"Maintenance window {window.name} ended at {at:%Y-%m-%d %H:%M}",
    )
    return window
