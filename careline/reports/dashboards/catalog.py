"""Every dashboard, in the order of the index: its address, title and the function that
computes it. Views, exports and the API look dashboards up here, and nowhere else."""

from __future__ import annotations

from careline.core.errors import NotFound
from careline.core.models import User
from careline.reports.dashboards import filters as dashboard_filters
from careline.reports.dashboards.backups import backups
from careline.reports.dashboards.deflection import deflection
from careline.reports.dashboards.oncall import oncall_load
from careline.reports.dashboards.tables import Dashboard, Kind
from careline.reports.dashboards.tickets import response_times, sla_compliance, volume
from careline.reports.dashboards.uptime import uptime

DASHBOARDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "sla",
            "SLA compliance",
            "Response and resolution targets met and breached, by priority and month.",
            sla_compliance,
        ),
        Kind(
            "response-times",
            "Mean time to respond and resolve",
            "From opening to first response and to resolution, by priority.",
            response_times,
        ),
        Kind(
            "volume",
            "Ticket volume",
            "Tickets opened by clinical service, department, category and month.",
            volume,
        ),
        Kind(
            "uptime",
            "Uptime by clinical service",
            "Each clinical service's uptime against the target of its tier.",
            uptime,
        ),
        Kind(
            "backups",
            "Backup compliance",
            "Backup jobs within their RPO, and the services flagged for recovery readiness.",
            backups,
        ),
        Kind(
            "deflection",
            "Self-service deflection",
            "Problems solved by a self-help article against tickets filed through the portal.",
            deflection,
        ),
        Kind(
            "oncall",
            "On-call load",
            "Pages per person, and how many came at night.",
            oncall_load,
        ),
    )
}


def kind_of(name: str) -> Kind:
    kind = DASHBOARDS.get(name)
    if kind is None:
        raise NotFound(f"there is no dashboard named {name[:40]!r}", field="dashboard")
    return kind


def build(user: User, name: str, params: object) -> Dashboard:
    """The named dashboard over the filters in `params` (a QueryDict or a dict)."""
    kind = kind_of(name)
    return kind.build(user, dashboard_filters.parse(params))
