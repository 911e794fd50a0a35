"""Backup compliance: the share of backup jobs whose newest good backup is within their
service's RPO, and the services flagged, as continuity's readiness() judges them now.

Readiness is a state, not a history: the period does not change it (the page says so); the
site narrows it to the backup jobs whose heartbeat monitor belongs to a department there.
"""

from __future__ import annotations

from django.utils import timezone

from careline.continuity.models import BackupJob
from careline.continuity.services.readiness import hours, readiness
from careline.core.models import User
from careline.reports.dashboards.filters import Filters
from careline.reports.dashboards.tables import Chart, Column, Dashboard, Table, percent


def backups(user: User, filters: Filters) -> Dashboard:
    now = timezone.now()
    states = readiness(now)
    at_site: set[int] | None = None
    if filters.site is not None:
        at_site = set(
            BackupJob.objects.filter(monitor__department__site_id=filters.site.pk).values_list(
                "pk", flat=True
            )
        )
    service_rows = []
    job_rows = []
    within_all = judged_all = 0
    flagged = 0
    for state in states:
        jobs = [j for j in state.jobs if at_site is None or j.job.pk in at_site]
        if at_site is not None and not jobs:
            continue
        judged = [j for j in jobs if j.within_rpo is not None]
        within = [j for j in judged if j.within_rpo]
        within_all += len(within)
        judged_all += len(judged)
        flagged += 1 if state.flags else 0
        service_rows.append(
            [
                state.service.code,
                state.service.name,
                state.service.tier,
                hours(state.plan.rpo_minutes) if state.plan else "",
                len(jobs),
                len(within),
                len(judged) - len(within),
                percent(len(within), len(judged)),
                "; ".join(f.text for f in state.flags),
            ]
        )
        for job in jobs:
            job_rows.append(
                [
                    job.job.name,
                    state.service.code,
                    job.last_good_at,
                    None if job.age is None else round(job.age.total_seconds() / 3600, 1),
                    {True: "yes", False: "no", None: "not judged"}[job.within_rpo],
                ]
            )
    services = Table(
        "by-service",
        "By clinical service",
        [
            Column("service", "Service"),
            Column("name", "Name"),
            Column("tier", "Tier"),
            Column("rpo", "RPO"),
            Column("jobs", "Backup jobs"),
            Column("within_rpo", "Within RPO"),
            Column("past_rpo", "Past RPO"),
            Column("compliance_percent", "Compliance", "%"),
            Column("flags", "Flags"),
        ],
        service_rows,
        charts=[
            Chart(
                "Backup jobs within and past their RPO",
                "service",
                ("within_rpo", "past_rpo"),
                kind="stacked",
            )
        ],
        note="A job is judged only when its service has a recovery plan (the RPO) and the job "
        "is active.",
    )
    jobs_table = Table(
        "jobs",
        "Backup jobs",
        [
            Column("job", "Job"),
            Column("service", "Service"),
            Column("last_good_at", "Newest good backup"),
            Column("age_hours", "Age", "h"),
            Column("within_rpo", "Within RPO"),
        ],
        job_rows,
    )
    share = percent(within_all, judged_all)
    summary = [
        f"{within_all} of {judged_all} backup jobs within their RPO"
        + (f" ({share} %)" if share is not None else ""),
        f"{flagged} of {len(service_rows)} services flagged",
    ]
    return Dashboard(
        "backups",
        "Backup compliance",
        "Each backup job's newest good backup against its service's recovery point objective, "
        "and every recovery readiness flag, as of now: the period does not apply.",
        filters,
        [services, jobs_table],
        summary,
    )
