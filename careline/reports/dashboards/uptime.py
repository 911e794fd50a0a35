"""Uptime per clinical service against its target, from monitoring's check history.

The figure is monitoring's own: the share of checks that found the service working (up or
degraded; history.Uptime), here summed over every monitor of the service, from the hour
rollups the history keeps for a year, read through the services' day sums
(history.service_uptime): a few grouped queries, whatever the number of monitors.
"""

from __future__ import annotations

from django.db.models import Q

from careline.core.models import ClinicalService, User
from careline.monitoring.services import history
from careline.monitoring.services.history import Uptime
from careline.reports.dashboards import config
from careline.reports.dashboards.filters import Filters
from careline.reports.dashboards.tables import Chart, Column, Dashboard, Table


def service_uptime(filters: Filters) -> dict[int, Uptime]:
    """Checks and working checks per clinical service id over the period."""
    site_id = filters.site.pk if filters.site is not None else None
    return history.service_uptime(filters.start, filters.end, site_id)


def uptime(user: User, filters: Filters) -> Dashboard:
    targets = config.uptime_targets()
    figures = service_uptime(filters)
    services = ClinicalService.objects.order_by("tier", "code")
    if filters.site is not None:
        # At one site: the services with a monitor there.
        services = services.filter(
            Q(pk__in=list(figures)) | Q(monitors__department__site_id=filters.site.pk)
        ).distinct()
    rows = []
    met = missed = unmeasured = 0
    for service in services:
        figure = figures.get(service.pk)
        target = targets.get(service.tier, targets[3])
        value = figure.percent if figure else None
        if value is None:
            unmeasured += 1
            verdict = "no checks"
        elif value >= target:
            met += 1
            verdict = "met"
        else:
            missed += 1
            verdict = "missed"
        rows.append(
            [
                service.code,
                service.name,
                service.tier,
                target,
                value,
                verdict,
                figure.checks if figure else 0,
            ]
        )
    table = Table(
        "by-service",
        "Uptime by clinical service",
        [
            Column("service", "Service"),
            Column("name", "Name"),
            Column("tier", "Tier"),
            Column("target_percent", "Target", "%"),
            Column("uptime_percent", "Uptime", "%"),
            Column("verdict", "Target"),
            Column("checks", "Checks"),
        ],
        rows,
        charts=[
            Chart(
                "Uptime against target (%)",
                "service",
                ("uptime_percent", "target_percent"),
                kind="hbar",
                unit="%",
                min_value=90,
                max_value=100,
            )
        ],
        note="Targets by tier (CARELINE_UPTIME_TARGETS): "
        + ", ".join(f"tier {t}: {v} %" for t, v in targets.items())
        + ". The chart starts at 90 %.",
    )
    summary = [f"{met} services met their target", f"{missed} missed it"]
    if unmeasured:
        summary.append(f"{unmeasured} without checks in the period")
    return Dashboard(
        "uptime",
        "Uptime by clinical service",
        "The share of checks that found each clinical service working (up or degraded) over "
        "the period, every monitor of the service together, against the target of its tier.",
        filters,
        [table],
        summary,
    )
