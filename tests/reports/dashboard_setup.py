"""A hospital's month and a half, built by hand for the dashboard tests: tickets with known
times and SLA results, monitors with known check counts, backups, deflections and pages.

The figures each dashboard must show are worked out in the tests from these facts.
Built straight as rows (the services' rules are their own tests' business): only what the
dashboards read is set.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from careline.continuity.models import BackupJob
from careline.continuity.services import recovery
from careline.core.models import ClinicalService, Department, Site, User
from careline.knowledge.models import Article, ArticleShown, Deflection
from careline.monitoring.models import HeartbeatPing, Monitor, Rollup
from careline.monitoring.services import history
from careline.oncall.models import Notification, Page
from careline.servicedesk.models import Ticket
from tests.conftest import Hospital

# "Now" in every dashboard test: the period 1 February - 15 March 2026 is before it.
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
PERIOD = {"from": "2026-02-01", "to": "2026-03-15"}
_numbers = itertools.count(1)


def ticket(
    requester: User,
    department: str,
    priority: str,
    created_at: datetime,
    *,
    responded_after: timedelta | None = None,
    response: str = "",
    resolved_after: timedelta | None = None,
    resolution: str = "",
    service: str | None = "EHR",
    kind: str = "incident",
    via: str = "web",
) -> Ticket:
    dept = Department.objects.select_related("site").get(code=department)
    resolved = resolved_after is not None
    return Ticket.objects.create(
        number=f"INC-{next(_numbers):06d}",
        kind=kind,
        title=f"{priority} problem",
        requester=requester,
        department=dept,
        site=dept.site,
        service=ClinicalService.objects.get(code=service) if service else None,
        care_effect="degraded",
        scope="person",
        priority=priority,
        priority_reason="Built for the test",
        status="resolved" if resolved else ("in_progress" if responded_after else "new"),
        created_at=created_at,
        updated_at=created_at,
        respond_by=created_at + timedelta(minutes=15),
        resolve_by=created_at + timedelta(hours=4),
        respond_warn_at=created_at + timedelta(minutes=11),
        resolve_warn_at=created_at + timedelta(hours=3),
        responded_at=created_at + responded_after if responded_after else None,
        response_result=response,
        resolved_at=created_at + resolved_after if resolved_after else None,
        resolution_result=resolution,
        via=via,
    )


def the_tickets(h: Hospital) -> dict[str, Ticket]:
    """Northgate (New York) and Riverside (Chicago) tickets, the period and around it."""
    t = datetime
    return {
        "p1_met": ticket(
            h.nurse,
            "NG-ED",
            "P1",
            t(2026, 2, 10, 9, 0, tzinfo=UTC),
            responded_after=timedelta(minutes=10),
            response="met",
            resolved_after=timedelta(hours=3),
            resolution="met",
        ),
        "p1_breached": ticket(
            h.nurse,
            "NG-ED",
            "P1",
            t(2026, 2, 20, 9, 0, tzinfo=UTC),
            responded_after=timedelta(minutes=30),
            response="breached",
            resolved_after=timedelta(hours=6),
            resolution="breached",
        ),
        # 1 March 03:00 UTC is still 28 February, 22:00, in New York.
        "p2_running": ticket(
            h.nurse,
            "NG-ED",
            "P2",
            t(2026, 3, 1, 3, 0, tzinfo=UTC),
            responded_after=timedelta(minutes=20),
            response="met",
            service="PRINT",
        ),
        "p3_river": ticket(
            h.outsider,
            "RV-W1",
            "P3",
            t(2026, 3, 5, 15, 0, tzinfo=UTC),
            responded_after=timedelta(minutes=60),
            response="met",
            resolved_after=timedelta(hours=24),
            resolution="met",
            via="email",
        ),
        "security": ticket(
            h.nurse,
            "NG-ED",
            "P2",
            t(2026, 3, 2, 10, 0, tzinfo=UTC),
            responded_after=timedelta(minutes=5),
            response="met",
            kind="security",
            service=None,
        ),
        # Outside the period: before it, and after its last day.
        "old": ticket(
            h.nurse,
            "NG-ED",
            "P1",
            t(2026, 1, 31, 12, 0, tzinfo=UTC),
            responded_after=timedelta(minutes=1),
            response="breached",
        ),
        "late": ticket(
            h.nurse,
            "NG-ED",
            "P4",
            t(2026, 3, 16, 6, 0, tzinfo=UTC),
        ),
    }


def monitor(name: str, service: str | None, department: str | None) -> Monitor:
    return Monitor.objects.create(
        name=name,
        kind="tcp",
        config={"host": "127.0.0.1", "port": 9},
        service=ClinicalService.objects.get(code=service) if service else None,
        department=Department.objects.get(code=department) if department else None,
        created_at=NOW,
        updated_at=NOW,
    )


def rollup(
    m: Monitor, start: datetime, checks: int, up: int, degraded: int = 0, period_s: int = 3600
) -> None:
    made = Rollup.objects.create(
        monitor=m,
        period_s=period_s,
        start=start,
        checks=checks,
        up=up,
        degraded=degraded,
        down=checks - up - degraded,
    )
    if period_s == Rollup.HOUR:
        # As the history loop does with each hour it rolls up.
        history.add_service_days([made])


def article(title: str) -> Article:
    return Article.objects.create(title=title, body="Try this first.", status="published")


def deflect(a: Article, user: User, at: datetime) -> Deflection:
    return Deflection.objects.create(article=a, user=user, at=at)


def shown(a: Article, t: Ticket) -> None:
    ArticleShown.objects.create(ticket=t, article=a)


def page(site: str | None, at: datetime, title: str = "EHR down") -> Page:
    return Page.objects.create(
        title=title,
        priority="P1",
        source="monitoring",
        site=Site.objects.get(code=site) if site else None,
        storm_until=at,
        created_at=at,
    )


def notify(p: Page, person: User, at: datetime, channel: str = "email", **extra: Any) -> None:
    Notification.objects.create(
        channel=channel,
        to=f"{person.username}@example.org",
        subject=p.title,
        body=p.title,
        idempotency_key=f"page:{p.pk}:{person.pk}:{channel}:{at.isoformat()}",
        next_attempt_at=at,
        created_at=at,
        recipient=person,
        page=p,
        page_level=0,
        **extra,
    )


def backup_job(h: Hospital, name: str, service: str, department: str | None) -> BackupJob:
    with time_machine.travel(NOW - timedelta(days=10), tick=False):
        job = recovery.create_job(
            h.engineer,
            recovery.JobDraft(
                name=name,
                service=service,
                schedule={"cron": "0 2 * * *", "tz": "America/New_York", "grace_s": 3600},
            ),
        )
    if department:
        Monitor.objects.filter(pk=job.monitor_id).update(
            department=Department.objects.get(code=department)
        )
    return job


def good_backup(job: BackupJob, at: datetime) -> None:
    HeartbeatPing.objects.create(monitor_id=job.monitor_id, at=at, kind="ping")
