"""The state of every clinical service, for the status page and the morning check.

A constant number of queries however many monitors there are: monitors are counted per
service and status by the database, and only the failing ones are read row by row (their
names are the reason shown). Maintenance windows are judged by monitoring's own rules, and
active downtime is the same set the downtime banner shows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max
from django.utils import timezone

from careline.continuity.models import DowntimeEvent, DowntimeStatus
from careline.core.choices import ServiceTier
from careline.core.models import ClinicalService
from careline.monitoring.choices import MonitorStatus
from careline.monitoring.models import Monitor
from careline.monitoring.services.maintenance import InForce, Occurrence, in_force

OPERATIONAL = "operational"
DEGRADED = "degraded"
DOWN = "down"
MAINTENANCE = "maintenance"
DOWNTIME = "downtime"
UNKNOWN = "unknown"
# Worst first: how a page sorts and sums up services.
SEVERITY = [DOWNTIME, DOWN, DEGRADED, MAINTENANCE, UNKNOWN, OPERATIONAL]
LABELS = {
    OPERATIONAL: "Working",
    DEGRADED: "Degraded",
    DOWN: "Down",
    MAINTENANCE: "Maintenance",
    DOWNTIME: "Downtime",
    UNKNOWN: "Unknown",
}
FAILING = (MonitorStatus.DOWN, MonitorStatus.DEGRADED)
# The reason names at most this many monitors, then "and N more".
NAMED_MONITORS = 5


@dataclass(frozen=True)
class MonitorCounts:
    watched: int = 0  # not paused
    up: int = 0
    down: int = 0
    degraded: int = 0
    unknown: int = 0  # not yet checked
    paused: int = 0
    silenced: int = 0  # down or degraded, but inside a maintenance window


@dataclass(frozen=True)
class ServiceState:
    code: str
    name: str
    tier: int
    state: str
    reason: str
    since: datetime | None
    counts: MonitorCounts
    failing: tuple[str, ...] = ()  # monitors down or degraded, not silenced
    downtime: tuple[str, ...] = ()  # references of the active downtime events
    maintenance: str = ""  # the maintenance window in force, by name
    maintenance_ends_at: datetime | None = None

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def tier_label(self) -> str:
        return (
            ServiceTier(self.tier).label if self.tier in ServiceTier.values else f"Tier {self.tier}"
        )


@dataclass
class _Tally:
    up: int = 0
    down: int = 0
    degraded: int = 0
    unknown: int = 0
    paused: int = 0
    up_since: datetime | None = None
    failing: list[Monitor] = field(default_factory=list)
    silenced: list[tuple[Monitor, Occurrence]] = field(default_factory=list)


def _tallies() -> dict[int, _Tally]:
    """Per service: monitors by status (one grouped query), failing monitors by name (one)."""
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    grouped = (
        Monitor.objects.filter(service__isnull=False)
        .values("service_id", "status", "paused")
        .annotate(n=Count("id"), last=Max("status_since"))
        .order_by()
    )
    for row in grouped:
        tally = tallies[row["service_id"]]
        if row["paused"] or row["status"] == MonitorStatus.PAUSED:
            tally.paused += row["n"]
        elif row["status"] == MonitorStatus.UP:
            tally.up += row["n"]
            tally.up_since = row["last"]
        elif row["status"] == MonitorStatus.DOWN:
            tally.down += row["n"]
        elif row["status"] == MonitorStatus.DEGRADED:
            tally.degraded += row["n"]
        else:
            tally.unknown += row["n"]
    failing = (
        Monitor.objects.filter(service__isnull=False, paused=False, status__in=FAILING)
        .only("id", "name", "service_id", "status", "status_since", "tags")
        .order_by("name", "id")
    )
    for monitor in failing:
        assert monitor.service_id is not None
        tallies[monitor.service_id].failing.append(monitor)
    return tallies


def _service_window(service_id: int, windows: list[InForce]) -> Occurrence | None:
    """A window naming the service itself (monitoring's service_in_maintenance rule)."""
    return next((w.occurrence for w in windows if service_id in w.service_ids), None)


def _silencing(monitor: Monitor, windows: list[InForce]) -> Occurrence | None:
    """Monitoring's own rule (window_for), with the windows read once for every monitor."""
    return next((w.occurrence for w in windows if w.silences(monitor)), None)


def _names(monitors: list[Monitor]) -> str:
    shown = ", ".join(m.name for m in monitors[:NAMED_MONITORS])
    more = len(monitors) - NAMED_MONITORS
    return f"{shown} and {more} more" if more > 0 else shown


def _monitors(count: int) -> str:
    return f"{count} monitor{'' if count == 1 else 's'}"


def _of(count: int, total: int) -> str:
    return f"{count} of {_monitors(total)}"


def _active_downtime() -> dict[int, list[DowntimeEvent]]:
    # The events the downtime banner shows: active ones (continuity's own status).
    by_service: dict[int, list[DowntimeEvent]] = defaultdict(list)
    events = (
        DowntimeEvent.objects.filter(status=DowntimeStatus.ACTIVE)
        .prefetch_related("services")
        .order_by("starts_at", "id")
    )
    for event in events:
        for service in event.services.all():
            by_service[service.pk].append(event)
    return by_service


Verdict = tuple[str, str, datetime | None]  # state, reason, since


def _verdict(
    tally: _Tally,
    failing: list[Monitor],
    events: list[DowntimeEvent],
    window: Occurrence | None,
    silencing: Occurrence | None,
) -> Verdict:
    watched = tally.up + tally.down + tally.degraded + tally.unknown
    if events:
        titles = "; ".join(f"{e.reference} {e.title}" for e in events)
        started = min(e.starts_at for e in events)
        return DOWNTIME, f"Downtime procedures are active ({titles})", started
    down = [m for m in failing if m.status == MonitorStatus.DOWN]
    if down:
        since = min((m.status_since for m in down if m.status_since), default=None)
        return DOWN, f"{_of(len(down), watched)} down: {_names(down)}", since
    if failing:
        since = min((m.status_since for m in failing if m.status_since), default=None)
        return DEGRADED, f"{_of(len(failing), watched)} degraded: {_names(failing)}", since
    if silencing is not None:
        reason = f"Maintenance: {silencing.window.name}"
        if window is None:
            quiet = [m for m, _ in tally.silenced]
            verb = "is" if len(quiet) == 1 else "are"
            reason += f" ({_names(quiet)} {verb} expected to fail)"
        return MAINTENANCE, reason, silencing.starts_at
    if tally.up:
        reason = f"All {_monitors(watched)} up" if watched > 1 else "Its monitor is up"
        if tally.unknown:
            reason = f"{_of(tally.up, watched)} up, {tally.unknown} not yet checked"
        return OPERATIONAL, reason, tally.up_since
    if watched:
        return UNKNOWN, f"{_of(tally.unknown, watched)} not yet checked", None
    if tally.paused:
        return UNKNOWN, f"Every monitor is paused ({tally.paused})", None
    return UNKNOWN, "Not monitored by CareLine", None


def _judge(
    service: ClinicalService,
    tally: _Tally,
    events: list[DowntimeEvent],
    window: Occurrence | None,
) -> ServiceState:
    quiet_ids = {m.pk for m, _ in tally.silenced}
    failing = [m for m in tally.failing if m.pk not in quiet_ids]
    silencing = window or (tally.silenced[0][1] if tally.silenced else None)
    state, reason, since = _verdict(tally, failing, events, window, silencing)
    return ServiceState(
        code=service.code,
        name=service.name,
        tier=service.tier,
        state=state,
        reason=reason,
        since=since,
        counts=MonitorCounts(
            watched=tally.up + tally.down + tally.degraded + tally.unknown,
            up=tally.up,
            down=tally.down,
            degraded=tally.degraded,
            unknown=tally.unknown,
            paused=tally.paused,
            silenced=len(tally.silenced),
        ),
        failing=tuple(m.name for m in failing),
        downtime=tuple(e.reference for e in events),
        maintenance=silencing.window.name if silencing else "",
        maintenance_ends_at=silencing.ends_at if silencing else None,
    )


def service_states(at: datetime | None = None) -> list[ServiceState]:
    """Every clinical service's state, most critical tier first.

    `at` is the moment maintenance windows are judged at (now by default); monitor statuses
    and downtime events are as they stand. Precedence: an active downtime event, then a
    monitor down, then one degraded (neither counting monitors a maintenance window
    silences), then maintenance, then operational; unknown when no watched monitor has
    answered yet, or the service has none.
    """
    at = at or timezone.now()
    tallies = _tallies()
    windows = in_force(at)
    downtime = _active_downtime()
    states = []
    for service in ClinicalService.objects.order_by("tier", "code"):
        tally = tallies.get(service.pk, _Tally())
        window = _service_window(service.pk, windows)
        for monitor in tally.failing:
            occurrence = window or _silencing(monitor, windows)
            if occurrence is not None:
                tally.silenced.append((monitor, occurrence))
        states.append(_judge(service, tally, downtime.get(service.pk, []), window))
    return states


def worst(states: list[ServiceState]) -> str:
    present = {s.state for s in states}
    return next((s for s in SEVERITY if s in present), UNKNOWN)
