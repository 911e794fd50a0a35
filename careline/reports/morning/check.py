"""The morning check: one page an agent reads at the start of the day, for one site.

Every section is read in a fixed number of queries however much data there is: counts are
aggregated by the database and long lists are cut at LIMIT with "and N more". Sections that
already have an owner are asked, not recomputed: the services' states (the status page's
rule), backups against their RPO (continuity's readiness), who is on call (on-call's
schedules), warranties, contracts and BAAs ending (the CMDB's reports).

Tickets are read through the service desk's visibility rule for the person looking; the
emailed check (no person) leaves security incidents out altogether and withholds the titles
of tickets that may hold patient information, as every CareLine email does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from careline.changes.choices import ChangeState
from careline.changes.models import Change
from careline.cmdb.reports import baas_expiring, contracts_ending, warranties_ending
from careline.continuity.services.readiness import hours, readiness
from careline.core.models import Site, User
from careline.monitoring.choices import MonitorKind, MonitorStatus
from careline.monitoring.models import Monitor, MonitorIncident
from careline.oncall.services.schedules import STRETCH_HORIZON, on_call, schedules_with_relations
from careline.reports.morning import schedule
from careline.reports.status.states import LABELS, SEVERITY, service_states
from careline.servicedesk.choices import Kind, Priority, SlaResult
from careline.servicedesk.models import QueueMember, Ticket
from careline.servicedesk.models.tickets import SECURITY_ROLES, TicketQuerySet

T = TypeVar("T")
# Lists stop here and say "and N more": the page stays one page with 100,000 tickets.
LIMIT = 25
# Certificates, warranties, contracts and BAAs ending within this many days.
EXPIRY_DAYS = 30
CHANGE_STATES = (ChangeState.APPROVED, ChangeState.SCHEDULED, ChangeState.IMPLEMENTING)
URGENT = (Priority.P1, Priority.P2)
WITHHELD = "(title withheld: may hold patient information)"


@dataclass
class Capped(Generic[T]):
    """The first rows of a list and how many there are in all."""

    items: list[T]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


def capped(query: QuerySet[Any], limit: int = LIMIT) -> tuple[list[Any], int]:
    """Up to `limit` rows, and the total: counted only when the list was cut."""
    rows = list(query[:limit])
    return rows, (len(rows) if len(rows) < limit else query.count())


@dataclass
class ServiceRow:
    code: str
    name: str
    tier: int
    state: str
    label: str
    reason: str
    since: datetime | None


@dataclass
class MonitorRow:
    id: int
    name: str
    kind: str
    status: str
    service: str
    since: datetime | None
    error: str


@dataclass
class BackupRow:
    service: str
    job: str
    last_good_at: datetime | None
    age_minutes: int | None
    rpo_minutes: int | None
    within_rpo: bool | None  # None: the service has no RPO to judge by
    rpo_text: str = ""  # the RPO as people say it: "24 h", "90 min"


@dataclass
class TicketRow:
    id: int
    number: str
    title: str
    kind: str
    priority: str
    status: str
    created_at: datetime
    is_open: bool
    from_monitor: bool = False


@dataclass
class BreachRow:
    id: int
    number: str
    title: str
    priority: str
    target: str  # "response" or "resolution"
    due_at: datetime
    is_open: bool


@dataclass
class ExpiryRow:
    name: str
    ends_on: date | None
    days_left: int
    detail: str


@dataclass
class ChangeRow:
    id: int
    number: str
    title: str
    state: str
    risk_level: str
    planned_start: datetime | None
    planned_end: datetime | None
    services: list[str]


@dataclass
class OnCallRow:
    schedule: str
    schedule_name: str
    person: str
    until: datetime | None


@dataclass
class MorningCheckReport:
    site: str
    site_name: str
    time_zone: str
    date: date
    due_at: datetime  # the check hour
    at: datetime  # when these figures were read
    since: datetime  # the start of the night reported on
    services: list[ServiceRow]
    service_counts: dict[str, int]
    monitors: Capped[MonitorRow]
    monitors_down: int
    monitors_degraded: int
    backups: Capped[BackupRow]
    backups_stale: int
    overnight: Capped[TicketRow]
    overnight_by_priority: dict[str, int]
    breaches: Capped[BreachRow]
    open_in_breach: int
    certificates: Capped[ExpiryRow]
    warranties: Capped[ExpiryRow]
    contracts: Capped[ExpiryRow]
    baas: Capped[ExpiryRow]
    changes: Capped[ChangeRow]
    on_call: list[OnCallRow]
    # Security incidents left out (the emailed check, or a viewer without clearance).
    security_left_out: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def expiring_total(self) -> int:
        return sum(c.total for c in (self.certificates, self.warranties, self.contracts, self.baas))


def site_tickets(site: Site, viewer: User | None) -> TicketQuerySet:
    """The site's tickets this person may see; with nobody, every one but security incidents."""
    found: TicketQuerySet = Ticket.objects.filter(site=site)
    return found.visible_to(viewer) if viewer is not None else found.exclude(kind=Kind.SECURITY)


def cleared(user: User) -> bool:
    """May see security incidents: the desk's rule (a security role, or a security queue)."""
    if user.role in SECURITY_ROLES:
        return True
    return QueueMember.objects.filter(user=user, queue__is_security=True).exists()


def shown_title(title: str, phi_flagged: bool, private: bool) -> str:
    return WITHHELD if private and phi_flagged else title


# --- sections ------------------------------------------------------------------------------


def _services(at: datetime) -> tuple[list[ServiceRow], dict[str, int]]:
    rows = [
        ServiceRow(s.code, s.name, s.tier, s.state, LABELS[s.state], s.reason, s.since)
        for s in service_states(at)
    ]
    counts = dict.fromkeys(SEVERITY, 0)
    for row in rows:
        counts[row.state] += 1
    return rows, counts


def site_monitors(site: Site) -> QuerySet[Monitor]:
    """Monitors of the site's departments, and those of no department (the whole estate)."""
    return Monitor.objects.filter(Q(department__site=site) | Q(department__isnull=True))


def _monitors(site: Site) -> tuple[Capped[MonitorRow], int, int]:
    failing = site_monitors(site).filter(
        paused=False, status__in=[MonitorStatus.DOWN, MonitorStatus.DEGRADED]
    )
    by_status = dict(failing.values_list("status").annotate(n=Count("id")).order_by())
    down, degraded = by_status.get(MonitorStatus.DOWN, 0), by_status.get(MonitorStatus.DEGRADED, 0)
    # "down" sorts before "degraded" backwards: the worst first, then the longest failing.
    rows = failing.select_related("service").order_by("-status", "status_since", "name", "id")
    items = [
        MonitorRow(
            m.pk,
            m.name,
            m.kind,
            m.status,
            m.service.code if m.service else "",
            m.status_since,
            m.last_error,
        )
        for m in rows[:LIMIT]
    ]
    return Capped(items, down + degraded), down, degraded


def _backups(at: datetime) -> tuple[Capped[BackupRow], int]:
    rows = []
    for state in readiness(at):
        rpo = state.plan.rpo_minutes if state.plan else None
        for job in state.jobs:
            if not job.job.active:
                continue
            rows.append(
                BackupRow(
                    state.service.code,
                    job.job.name,
                    job.last_good_at,
                    None if job.age is None else int(job.age.total_seconds() // 60),
                    rpo,
                    job.within_rpo,
                    hours(rpo) if rpo else "",
                )
            )
    # Past the RPO first, then those nothing judges, then the good ones.
    order = {False: 0, None: 1, True: 2}
    rows.sort(key=lambda r: (order[r.within_rpo], r.service, r.job))
    stale = sum(1 for r in rows if r.within_rpo is False)
    return Capped(rows[:LIMIT], len(rows)), stale


def _ticket_counts(
    tickets: QuerySet[Ticket], overnight: Q, breached: Q
) -> tuple[dict[str, int], int, int]:
    """Overnight tickets by priority, overnight breaches and open tickets in breach: one scan."""
    figures = tickets.aggregate(
        **{p: Count("id", filter=overnight & Q(priority=p)) for p in Priority.values},
        breached=Count("id", filter=breached),
        open_in_breach=Count("id", filter=Q(done=False) & Q(resolution_result=SlaResult.BREACHED)),
    )
    by_priority = {p: int(figures[p] or 0) for p in Priority.values}
    return by_priority, int(figures["breached"] or 0), int(figures["open_in_breach"] or 0)


def _overnight_q(since: datetime, until: datetime) -> Q:
    return Q(created_at__gte=since, created_at__lt=until) & (
        Q(kind__in=[Kind.INCIDENT, Kind.SECURITY]) | Q(priority__in=URGENT)
    )


def _breached_q(since: datetime, until: datetime) -> Q:
    return Q(respond_by__gte=since, respond_by__lt=until, response_result=SlaResult.BREACHED) | Q(
        resolve_by__gte=since, resolve_by__lt=until, resolution_result=SlaResult.BREACHED
    )


_TICKET_FIELDS = ("id", "number", "title", "kind", "priority", "status", "created_at", "done")


def _overnight_rows(tickets: QuerySet[Ticket], overnight: Q, private: bool) -> list[TicketRow]:
    detected = MonitorIncident.objects.filter(ticket_id=OuterRef("pk"))
    found = (
        tickets.filter(overnight)
        .annotate(from_monitor=Exists(detected))
        .order_by("priority", "-created_at", "-id")
        .values(*_TICKET_FIELDS, "phi_flagged", "from_monitor")[:LIMIT]
    )
    return [
        TicketRow(
            t["id"],
            t["number"],
            shown_title(t["title"], t["phi_flagged"], private),
            t["kind"],
            t["priority"],
            t["status"],
            t["created_at"],
            not t["done"],
            t["from_monitor"],
        )
        for t in found
    ]


def _breach_rows(
    tickets: QuerySet[Ticket], since: datetime, until: datetime, private: bool
) -> list[BreachRow]:
    found = (
        tickets.filter(_breached_q(since, until))
        .order_by("priority", "resolve_by", "id")
        .values(
            "id",
            "number",
            "title",
            "priority",
            "phi_flagged",
            "done",
            "respond_by",
            "resolve_by",
            "response_result",
            "resolution_result",
        )[:LIMIT]
    )
    rows = []
    for t in found:
        resolution = (
            t["resolution_result"] == SlaResult.BREACHED and since <= t["resolve_by"] < until
        )
        rows.append(
            BreachRow(
                t["id"],
                t["number"],
                shown_title(t["title"], t["phi_flagged"], private),
                t["priority"],
                "resolution" if resolution else "response",
                t["resolve_by"] if resolution else t["respond_by"],
                not t["done"],
            )
        )
    return rows


def certificates_expiring(site: Site, within_days: int = EXPIRY_DAYS) -> QuerySet[Monitor]:
    """TLS monitors whose certificate ends within `within_days`: the check carries the days
    left as its value (monitoring.checks.tls)."""
    return (
        site_monitors(site)
        .filter(
            kind=MonitorKind.TLS,
            paused=False,
            last_value__isnull=False,
            last_value__lte=within_days,
        )
        .order_by("last_value", "name", "id")
    )


def _expiring(
    site: Site, today: date
) -> tuple[Capped[ExpiryRow], Capped[ExpiryRow], Capped[ExpiryRow], Capped[ExpiryRow]]:
    monitors, n_certs = capped(certificates_expiring(site))
    certificates = [
        ExpiryRow(
            m.name,
            None,
            int(m.last_value // 1) if m.last_value is not None else 0,
            str(m.config.get("host", "")),
        )
        for m in monitors
    ]
    items, n_items = capped(
        warranties_ending(today, EXPIRY_DAYS).filter(Q(site=site) | Q(site__isnull=True))
    )
    warranties = [
        ExpiryRow(
            i.name,
            i.warranty_end,
            (i.warranty_end - today).days if i.warranty_end else 0,
            " ".join(p for p in (i.manufacturer, i.model) if p),
        )
        for i in items
    ]
    found, n_contracts = capped(contracts_ending(today, EXPIRY_DAYS))
    contracts = [
        ExpiryRow(
            f"{c.reference} ({c.vendor.name})",
            c.ends_on,
            (c.ends_on - today).days,
            c.coverage[:120],
        )
        for c in found
    ]
    agreements, n_baas = capped(baas_expiring(today, EXPIRY_DAYS))
    baas = [
        ExpiryRow(
            f"BAA with {b.vendor.name}",
            b.expires_on,
            (b.expires_on - today).days if b.expires_on else 0,
            "",
        )
        for b in agreements
    ]
    return (
        Capped(certificates, n_certs),
        Capped(warranties, n_items),
        Capped(contracts, n_contracts),
        Capped(baas, n_baas),
    )


def changes_between(start: datetime, end: datetime) -> QuerySet[Change]:
    """Approved, scheduled and running changes whose planned window touches [start, end)."""
    return (
        Change.objects.filter(state__in=CHANGE_STATES, planned_start__lt=end, planned_end__gt=start)
        .prefetch_related("services")
        .order_by("planned_start", "id")
    )


def change_rows(start: datetime, end: datetime) -> Capped[ChangeRow]:
    found, total = capped(changes_between(start, end))
    return Capped(
        [
            ChangeRow(
                c.pk,
                c.number,
                c.title,
                c.state,
                c.risk_level,
                c.planned_start,
                c.planned_end,
                [s.code for s in c.services.all()],
            )
            for c in found
        ],
        total,
    )


def on_call_rows(at: datetime) -> list[OnCallRow]:
    """Who is on call on every schedule now (the schedules read in four queries)."""
    rows = []
    for rota in schedules_with_relations(since=at - STRETCH_HORIZON):
        now = on_call(rota, at)
        rows.append(
            OnCallRow(
                rota.code,
                rota.name,
                now.user.display_name if now else "",
                now.ends_at if now else None,
            )
        )
    return rows


# --- the check -----------------------------------------------------------------------------


def build_morning_check(site: Site, at: datetime, viewer: User | None = None) -> MorningCheckReport:
    """The site's morning check as it stands at `at`: the night reported on runs from the
    previous day's check hour to `at` (after the check hour, the figures are live)."""
    day, due_at = schedule.latest_check(site, at)
    since = schedule.overnight_since(site, day)
    private = viewer is None
    tickets = site_tickets(site, viewer)
    overnight, breached = _overnight_q(since, at), _breached_q(since, at)
    by_priority, n_breached, open_in_breach = _ticket_counts(tickets, overnight, breached)
    services, service_counts = _services(at)
    monitors, down, degraded = _monitors(site)
    backups, stale = _backups(at)
    certificates, warranties, contracts, baas = _expiring(site, day)
    day_start, day_end = schedule.day_bounds(site, day)
    security_left_out = viewer is None or not cleared(viewer)
    return MorningCheckReport(
        site=site.code,
        site_name=site.name,
        time_zone=site.time_zone,
        date=day,
        due_at=due_at,
        at=at,
        since=since,
        services=services,
        service_counts=service_counts,
        monitors=monitors,
        monitors_down=down,
        monitors_degraded=degraded,
        backups=backups,
        backups_stale=stale,
        overnight=Capped(_overnight_rows(tickets, overnight, private), sum(by_priority.values())),
        overnight_by_priority=by_priority,
        breaches=Capped(_breach_rows(tickets, since, at, private), n_breached),
        open_in_breach=open_in_breach,
        certificates=certificates,
        warranties=warranties,
        contracts=contracts,
        baas=baas,
        changes=change_rows(day_start, day_end),
        on_call=on_call_rows(at),
        security_left_out=security_left_out,
    )


def snapshot(report: Any) -> dict[str, Any]:
    """A report as plain JSON (times in ISO 8601 UTC), for the stored record."""
    data: dict[str, Any] = json.loads(json.dumps(asdict(report), cls=DjangoJSONEncoder))
    return data
