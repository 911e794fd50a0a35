"""Everything the status page and GET /api/v1/status show, gathered in one place."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone

from careline.continuity.models import DowntimeEvent, DowntimeStatus, DowntimeUpdate
from careline.reports.models import StatusNotice
from careline.reports.status import notices, schedule, states
from careline.reports.status.schedule import ScheduledWork, ServiceRef
from careline.reports.status.states import ServiceState

HEADLINES = {
    states.DOWNTIME: "Downtime procedures are active",
    states.DOWN: "Some clinical services are down",
    states.DEGRADED: "Some clinical services are degraded",
    states.MAINTENANCE: "Maintenance under way",
    states.UNKNOWN: "CareLine is not yet watching any clinical service",
    states.OPERATIONAL: "All clinical services are working",
}
# Not news: working, or not watched by CareLine (a service without monitors says nothing).
QUIET = (states.OPERATIONAL, states.UNKNOWN)
# Updates shown per downtime event, newest first.
UPDATES_SHOWN = 10


@dataclass(frozen=True)
class Update:
    at: datetime
    text: str


@dataclass(frozen=True)
class ActiveDowntime:
    id: int
    reference: str
    title: str
    description: str
    kind: str
    services: tuple[ServiceRef, ...]
    starts_at: datetime
    ends_at: datetime | None  # the planned end, when known
    read_only_access: bool
    updates: tuple[Update, ...]


@dataclass(frozen=True)
class StatusReport:
    generated_at: datetime
    overall: str
    headline: str
    counts: dict[str, int]
    services: list[ServiceState]  # most critical tier first, then by code
    downtime: list[ActiveDowntime]
    scheduled: list[ScheduledWork]
    notices: list[StatusNotice]

    @property
    def attention(self) -> list[ServiceState]:
        """Services known not to be working normally, worst first."""
        return sorted(
            (s for s in self.services if s.state not in QUIET),
            key=lambda s: states.SEVERITY.index(s.state),
        )


def _active_downtime() -> list[ActiveDowntime]:
    newest_first = DowntimeUpdate.objects.order_by("-at", "-id")
    events = (
        DowntimeEvent.objects.filter(status=DowntimeStatus.ACTIVE)
        .prefetch_related("services", Prefetch("updates", queryset=newest_first))
        .order_by("starts_at", "id")
    )
    return [
        ActiveDowntime(
            id=e.pk,
            reference=e.reference,
            title=notices.masked(e.title),
            description=notices.masked(e.description),
            kind=e.kind,
            services=schedule.refs(e.services.all()),
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            read_only_access=e.read_only_access,
            updates=tuple(
                Update(u.at, notices.masked(u.text)) for u in list(e.updates.all())[:UPDATES_SHOWN]
            ),
        )
        for e in events
    ]


def build(at: datetime | None = None) -> StatusReport:
    at = at or timezone.now()
    service_list = states.service_states(at)
    # The headline speaks of the services CareLine watches; unknown only when it watches none.
    known = [s for s in service_list if s.state != states.UNKNOWN]
    overall = states.worst(known) if known else states.UNKNOWN
    return StatusReport(
        generated_at=at,
        overall=overall,
        headline=HEADLINES[overall],
        counts=dict(Counter(s.state for s in service_list)),
        services=service_list,
        downtime=_active_downtime(),
        scheduled=schedule.scheduled_work(at),
        notices=list(notices.live_notices(at)),
    )
