"""The service desk's dashboards: SLA compliance, mean times to respond and resolve, and
ticket volume, each over the tickets opened in the period (at the site, when one is chosen).

Every figure is aggregated in the database (GROUP BY with conditional counts and averages),
so the number of queries does not grow with the tickets: a year of 100,000 tickets is a few
grouped scans. Tickets are counted only where the viewer may see them (security incidents
need clearance), by the same rule as the desk.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import TruncMonth

from careline.core.models import User
from careline.reports.dashboards.filters import Filters
from careline.reports.dashboards.tables import Chart, Column, Dashboard, Table, percent
from careline.servicedesk.choices import OPEN_STATUSES, Kind, Priority, SlaResult
from careline.servicedesk.models import Ticket

PRIORITIES = [p.value for p in Priority]


def opened(user: User, filters: Filters) -> Any:
    """The tickets opened in the period, at the site, that this person may see."""
    tickets = Ticket.objects.visible_to(user).filter(
        created_at__gte=filters.start, created_at__lt=filters.end
    )
    if filters.site is not None:
        tickets = tickets.filter(site_id=filters.site.pk)
    return tickets


def _met(field: str) -> dict[str, Count]:
    return {
        f"{field}_met": Count("id", filter=Q(**{f"{field}_result": SlaResult.MET})),
        f"{field}_breached": Count("id", filter=Q(**{f"{field}_result": SlaResult.BREACHED})),
    }


SLA_COLUMNS = [
    Column("response_met", "Response met"),
    Column("response_breached", "Response breached"),
    Column("response_percent", "Response within target", "%"),
    Column("resolution_met", "Resolution met"),
    Column("resolution_breached", "Resolution breached"),
    Column("resolution_percent", "Resolution within target", "%"),
]


def _sla_cells(row: dict[str, int]) -> list[Any]:
    rm, rb = row["response_met"], row["response_breached"]
    sm, sb = row["resolution_met"], row["resolution_breached"]
    return [rm, rb, percent(rm, rm + rb), sm, sb, percent(sm, sm + sb)]


def sla_compliance(user: User, filters: Filters) -> Dashboard:
    """Targets met and breached, for response and resolution, by priority and by month.

    A ticket counts once its clock has stopped (met or breached); one still running is in
    neither column. Months are the site's calendar months.
    """
    rows = list(
        opened(user, filters)
        .annotate(month=TruncMonth("created_at", tzinfo=filters.zone))
        .values("month", "priority")
        .annotate(**_met("response"), **_met("resolution"))
        .order_by("month", "priority")
    )
    totals: dict[str, dict[str, int]] = {
        p: dict.fromkeys(
            ("response_met", "response_breached", "resolution_met", "resolution_breached"), 0
        )
        for p in PRIORITIES
    }
    for row in rows:
        for key in totals[row["priority"]]:
            totals[row["priority"]][key] += row[key]
    by_priority = Table(
        "by-priority",
        "By priority",
        [Column("priority", "Priority"), *SLA_COLUMNS],
        [[p, *_sla_cells(totals[p])] for p in PRIORITIES],
        charts=[
            Chart(
                "Share within target by priority (%)",
                "priority",
                ("response_percent", "resolution_percent"),
                unit="%",
                max_value=100,
            )
        ],
    )
    monthly = Table(
        "by-month",
        "By month and priority",
        [Column("month", "Month"), Column("priority", "Priority"), *SLA_COLUMNS],
        [[row["month"].strftime("%Y-%m"), row["priority"], *_sla_cells(row)] for row in rows],
    )
    months = sorted({row["month"] for row in rows})
    by_month_rows = []
    for month in months:
        cells: list[Any] = [month.strftime("%Y-%m")]
        for p in PRIORITIES:
            found = next((r for r in rows if r["month"] == month and r["priority"] == p), None)
            met, breached = (
                (found["resolution_met"], found["resolution_breached"]) if found else (0, 0)
            )
            cells.append(percent(met, met + breached))
        by_month_rows.append(cells)
    trend = Table(
        "resolution-by-month",
        "Resolution within target by month (%)",
        [Column("month", "Month"), *[Column(p, p, "%") for p in PRIORITIES]],
        by_month_rows,
        charts=[
            Chart(
                "Resolution within target by month (%)",
                "month",
                tuple(PRIORITIES),
                kind="line",
                unit="%",
                max_value=100,
            )
        ],
    )
    everything = {k: sum(t[k] for t in totals.values()) for k in totals[PRIORITIES[0]]}
    response = percent(
        everything["response_met"], everything["response_met"] + everything["response_breached"]
    )
    resolution = percent(
        everything["resolution_met"],
        everything["resolution_met"] + everything["resolution_breached"],
    )
    summary = [
        f"Response within target: {_shown_percent(response)}",
        f"Resolution within target: {_shown_percent(resolution)}",
        f"Breaches: {everything['response_breached'] + everything['resolution_breached']}",
    ]
    return Dashboard(
        "sla",
        "SLA compliance",
        "Response and resolution targets met and breached, for the tickets opened in the "
        "period. A ticket whose clock still runs is counted once it stops.",
        filters,
        [by_priority, trend, monthly],
        summary,
    )


def _shown_percent(value: float | None) -> str:
    return "no tickets" if value is None else f"{value} %"


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 1)


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def _since_opened(field: str) -> ExpressionWrapper[CombinedExpression]:
    return ExpressionWrapper(F(field) - F("created_at"), output_field=DurationField())


def response_times(user: User, filters: Filters) -> Dashboard:
    """Mean time from opening to first response and to resolution, by priority: wall-clock
    time, as the requester lived it (SLA clocks, which pause, are the SLA dashboard's)."""
    rows = {
        row["priority"]: row
        for row in opened(user, filters)
        .values("priority")
        .annotate(
            opened=Count("id"),
            responded=Count("id", filter=Q(responded_at__isnull=False)),
            respond=Avg(_since_opened("responded_at"), filter=Q(responded_at__isnull=False)),
            resolved=Count("id", filter=Q(resolved_at__isnull=False)),
            resolve=Avg(_since_opened("resolved_at"), filter=Q(resolved_at__isnull=False)),
        )
        .order_by()
    }
    table_rows = []
    for p in PRIORITIES:
        row = rows.get(p, {})
        table_rows.append(
            [
                p,
                row.get("opened", 0),
                row.get("responded", 0),
                _minutes(row.get("respond")),
                row.get("resolved", 0),
                _hours(row.get("resolve")),
            ]
        )
    table = Table(
        "by-priority",
        "Mean times by priority",
        [
            Column("priority", "Priority"),
            Column("opened", "Opened"),
            Column("responded", "Responded to"),
            Column("mean_respond_minutes", "Mean time to respond", "min"),
            Column("resolved", "Resolved"),
            Column("mean_resolve_hours", "Mean time to resolve", "h"),
        ],
        table_rows,
        charts=[
            Chart(
                "Mean time to respond (minutes)", "priority", ("mean_respond_minutes",), unit="min"
            ),
            Chart("Mean time to resolve (hours)", "priority", ("mean_resolve_hours",), unit="h"),
        ],
    )
    summary = [
        f"{sum(r[1] for r in table_rows)} tickets opened",
        f"{sum(r[4] for r in table_rows)} resolved",
    ]
    return Dashboard(
        "response-times",
        "Mean time to respond and resolve",
        "From a ticket's opening to its first response and to its resolution, by priority, for "
        "the tickets opened in the period: wall-clock time, waits on the requester included.",
        filters,
        [table],
        summary,
    )


def volume(user: User, filters: Filters) -> Dashboard:
    """Tickets opened by clinical service, department, category (kind) and month."""
    tickets = opened(user, filters)
    still_open = Q(status__in=sorted(OPEN_STATUSES))
    counts = {"tickets": Count("id"), "still_open": Count("id", filter=still_open)}
    by_service = list(
        tickets.values("service__code", "service__name")
        .annotate(**counts)
        .order_by("-tickets", "service__code")
    )
    by_department = list(
        tickets.values("department__code", "department__name", "department__site__code")
        .annotate(**counts)
        .order_by("-tickets", "department__code")
    )
    by_kind = {r["kind"]: r for r in tickets.values("kind").annotate(**counts).order_by()}
    by_month = list(
        tickets.annotate(month=TruncMonth("created_at", tzinfo=filters.zone))
        .values("month")
        .annotate(**counts)
        .order_by("month")
    )
    count_columns = [Column("tickets", "Tickets"), Column("still_open", "Still open")]
    service = Table(
        "by-service",
        "By clinical service",
        [Column("service", "Service"), Column("name", "Name"), *count_columns],
        [
            [
                r["service__code"] or "(none)",
                r["service__name"] or "No service named",
                r["tickets"],
                r["still_open"],
            ]
            for r in by_service
        ],
        charts=[Chart("Tickets by clinical service", "service", ("tickets",), kind="hbar")],
    )
    department = Table(
        "by-department",
        "By department",
        [
            Column("department", "Department"),
            Column("name", "Name"),
            Column("site", "Site"),
            *count_columns,
        ],
        [
            [
                r["department__code"],
                r["department__name"],
                r["department__site__code"],
                r["tickets"],
                r["still_open"],
            ]
            for r in by_department
        ],
        charts=[Chart("Tickets by department", "department", ("tickets",), kind="hbar")],
    )
    kind = Table(
        "by-category",
        "By category",
        [Column("category", "Category"), *count_columns],
        [
            [
                k.label,
                by_kind.get(k.value, {}).get("tickets", 0),
                by_kind.get(k.value, {}).get("still_open", 0),
            ]
            for k in Kind
        ],
        charts=[Chart("Tickets by category", "category", ("tickets",))],
    )
    month = Table(
        "by-month",
        "By month",
        [Column("month", "Month"), *count_columns],
        [[r["month"].strftime("%Y-%m"), r["tickets"], r["still_open"]] for r in by_month],
        charts=[Chart("Tickets opened by month", "month", ("tickets", "still_open"))],
    )
    total = sum(r["tickets"] for r in by_month)
    summary = [f"{total} tickets opened", f"{sum(r['still_open'] for r in by_month)} still open"]
    return Dashboard(
        "volume",
        "Ticket volume",
        "The tickets opened in the period, by clinical service, department, category and month.",
        filters,
        [service, department, kind, month],
        summary,
    )
