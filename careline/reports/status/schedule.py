"""Scheduled maintenance for the status page: approved changes, planned downtime and
maintenance windows over the next CARELINE_STATUS_AHEAD_DAYS days, one entry per piece of work.

An approved change makes its own maintenance window (Change.maintenance_window) and, when the
service is unavailable throughout, a planned downtime event (DowntimeEvent.source holds the
change number). The three are one piece of work: they are listed once, under the change, with
the window and the downtime named on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from careline.changes.choices import ChangeState
from careline.changes.models import Change
from careline.continuity.models import DowntimeEvent, DowntimeStatus
from careline.core.models import ClinicalService
from careline.monitoring.models import MaintenanceWindow, Monitor
from careline.monitoring.services import maintenance

# A change in these states is going ahead; one still implementing is work in progress.
GOING_AHEAD = [ChangeState.APPROVED, ChangeState.SCHEDULED, ChangeState.IMPLEMENTING]


@dataclass(frozen=True)
class ServiceRef:
    code: str
    name: str
    tier: int


@dataclass(frozen=True)
class ScheduledWork:
    kind: str  # "change", "downtime" or "maintenance"
    title: str
    starts_at: datetime
    ends_at: datetime | None
    services: tuple[ServiceRef, ...]
    # The service cannot be used at all for the whole time: a planned downtime, with its
    # procedures announced to the departments that rely on it.
    service_unavailable: bool = False
    change: str = ""  # CHG-000123
    downtime: str = ""  # DT-000045
    window_id: int | None = None

    def in_progress(self, at: datetime) -> bool:
        return self.starts_at <= at


def refs(services: Iterable[ClinicalService]) -> tuple[ServiceRef, ...]:
    unique = {s.pk: s for s in services}
    return tuple(
        ServiceRef(s.code, s.name, s.tier)
        for s in sorted(unique.values(), key=lambda s: (s.tier, s.code))
    )


def _window_services(
    windows: list[MaintenanceWindow], services: dict[int, ClinicalService]
) -> dict[int, list[ClinicalService]]:
    """The services each window touches: named, through its monitors, through its tags."""
    found: dict[int, list[ClinicalService]] = {}
    tagged: list[tuple[int, list[str]]] = []
    if any(w.tags for w in windows):
        # Tags live in a JSON list, which SQLite cannot search: one read of the tagged monitors.
        tagged = list(
            Monitor.objects.filter(service__isnull=False)
            .exclude(tags=[])
            .values_list("service_id", "tags")
            .order_by()
        )
    for window in windows:
        ids = {s.pk for s in window.services.all()}
        ids |= {m.service_id for m in window.monitors.all() if m.service_id is not None}
        if window.tags:
            wanted = set(window.tags)
            ids |= {service_id for service_id, tags in tagged if not wanted.isdisjoint(tags)}
        found[window.pk] = [services[i] for i in ids if i in services]
    return found


def scheduled_work(at: datetime | None = None, days: int | None = None) -> list[ScheduledWork]:
    """Work affecting clinical services that is under way or starts within `days`, by start."""
    at = at or timezone.now()
    horizon = at + timedelta(days=days if days is not None else settings.STATUS_AHEAD_DAYS)
    services = {s.pk: s for s in ClinicalService.objects.all()}

    changes = list(
        Change.objects.filter(state__in=GOING_AHEAD, planned_start__lt=horizon, planned_end__gt=at)
        .prefetch_related("services")
        .order_by("planned_start", "id")
    )
    events = list(
        DowntimeEvent.objects.filter(status=DowntimeStatus.SCHEDULED, starts_at__lt=horizon)
        .prefetch_related("services")
        .order_by("starts_at", "id")
    )
    windows = list(
        MaintenanceWindow.objects.filter(starts_at__lt=horizon)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .prefetch_related("services", "monitors")
    )
    # The change behind each window and downtime, even one not listed above (say, already
    # implemented while its window still runs).
    sources = {e.source for e in events if e.source}
    owners = dict(
        Change.objects.filter(
            Q(maintenance_window__in=[w.pk for w in windows]) | Q(number__in=sources)
        ).values_list("number", "maintenance_window_id")
    )
    window_change = {window_id: number for number, window_id in owners.items() if window_id}
    listed = {c.number for c in changes}
    downtime_of = {e.source: e for e in events if e.source}

    work: list[ScheduledWork] = []
    for change in changes:
        assert change.planned_start is not None
        event = downtime_of.get(change.number)
        work.append(
            ScheduledWork(
                kind="change",
                title=change.title,
                starts_at=change.planned_start,
                ends_at=change.planned_end,
                services=refs(change.services.all()),
                service_unavailable=change.service_unavailable or event is not None,
                change=change.number,
                downtime=event.reference if event else "",
                window_id=change.maintenance_window_id,
            )
        )
    for event in events:
        if event.source in listed:
            continue
        work.append(
            ScheduledWork(
                kind="downtime",
                title=event.title,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
                services=refs(event.services.all()),
                service_unavailable=True,
                change=event.source if event.source in owners else "",
                downtime=event.reference,
                window_id=owners.get(event.source),
            )
        )
    touched = _window_services(windows, services)
    for window in windows:
        owner = window_change.get(window.pk, "")
        # A change's window is listed under the change, or under its planned downtime.
        if owner in listed or owner in downtime_of or not touched[window.pk]:
            continue
        for occurrence in maintenance.upcoming(window, at):
            if occurrence.starts_at >= horizon or occurrence.ends_at <= at:
                continue
            work.append(
                ScheduledWork(
                    kind="maintenance",
                    title=window.name,
                    starts_at=occurrence.starts_at,
                    ends_at=occurrence.ends_at,
                    services=refs(touched[window.pk]),
                    change=owner,
                    window_id=window.pk,
                )
            )
    return sorted(work, key=lambda w: (w.starts_at, w.kind, w.title))
