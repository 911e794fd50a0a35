"""Dashboard speed: 100,000 tickets over a year, 10,000 monitors over 200 clinical services
with their hour rollups, a year of pages, deflections and backups, on SQLite and PostgreSQL
(issue 9: dashboards, Speed).

Floor: every dashboard under 2 s, in a number of queries that does not grow with the data.

Timed in-process: each dashboard's service function (catalog.build, as the API calls it),
and its page through Django's test client (middleware, charts, templates; no network), over
the default period (the last 30 days) and the 365-day preset, at every site and at one.

Check history: the hour rollups of CARELINE_BENCH_DASH_ROLLUP_DAYS days (default 30, the
dashboards' default period) for every monitor, written by the database itself
(generate_series / a recursive CTE): 10,000 monitors x 24 h x 30 d = 7.2 million rows. A
year of them (87.6 million rows) is what CareLine keeps with CARELINE_MONITOR_HOUR_DAYS=400.

    .venv/bin/python bench/bench_dashboards.py
    CARELINE_BENCH_DASH_ROLLUP_DAYS=7 CARELINE_BENCH_DASH_RUNS=3 .venv/bin/python bench/bench_dashboards.py
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, measure, report, rows_per_database

TICKETS = int(os.environ.get("CARELINE_BENCH_TICKETS", "100000"))
MONITORS = int(os.environ.get("CARELINE_BENCH_DASH_MONITORS", "10000"))
SERVICES = int(os.environ.get("CARELINE_BENCH_DASH_SERVICES", "200"))
ROLLUP_DAYS = int(os.environ.get("CARELINE_BENCH_DASH_ROLLUP_DAYS", "30"))
RUNS = int(os.environ.get("CARELINE_BENCH_DASH_RUNS", "5"))
TARGET_MS = 2000.0


def _seed_rollups(now: Any) -> int:
    """Hour rollups for every monitor over ROLLUP_DAYS, written by the database."""
    from django.db import connection

    from careline.monitoring.models import Rollup

    end = now.replace(minute=0, second=0, microsecond=0)
    hours = ROLLUP_DAYS * 24
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                """
                INSERT INTO monitoring_rollup
                    (monitor_id, period_s, start, checks, up, degraded, down,
                     latency_sum, latency_max)
                SELECT m.id, 3600, %s - make_interval(hours => h), 120,
                       119 - (m.id + h) %% 3 / 2, (m.id + h) %% 3 / 2, 1, 2400.0, 80.0
                FROM monitoring_monitor m CROSS JOIN generate_series(1, %s) AS h
                WHERE m.kind <> 'heartbeat'
                """,
                [end, hours],
            )
        else:
            cursor.execute(
                """
                WITH RECURSIVE h(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM h WHERE n < %s)
                INSERT INTO monitoring_rollup
                    (monitor_id, period_s, start, checks, up, degraded, down,
                     latency_sum, latency_max)
                SELECT m.id, 3600, strftime('%%Y-%%m-%%d %%H:%%M:%%S', %s, '-' || h.n || ' hours'),
                       120, 119 - (m.id + h.n) %% 3 / 2, (m.id + h.n) %% 3 / 2, 1, 2400.0, 80.0
                FROM monitoring_monitor m CROSS JOIN h
                WHERE m.kind <> 'heartbeat'
                """,
                [hours, end.strftime("%Y-%m-%d %H:%M:%S")],
            )
    # The day sums the history loop keeps as it rolls hours up.
    from careline.monitoring.services.history import sum_hours_into_days

    sum_hours_into_days()
    # (SQLite's cursor does not count the rows of an INSERT ... SELECT led by WITH.)
    return Rollup.objects.count()


def _seed() -> dict[str, int]:
    from django.utils import timezone

    from careline.continuity.models import BackupJob, RecoveryPlan
    from careline.core.models import ClinicalService, Department, User
    from careline.knowledge.models import Article, ArticleShown, Deflection
    from careline.monitoring.models import HeartbeatPing, Monitor
    from careline.oncall.models import Notification, Page
    from careline.servicedesk.models import Ticket

    rng = random.Random(20260315)
    now = timezone.now()
    year = timedelta(days=365)
    ClinicalService.objects.bulk_create(
        ClinicalService(code=f"SVC{i:03d}", name=f"Clinical service {i}", tier=1 + i % 3)
        for i in range(SERVICES)
    )
    services = list(ClinicalService.objects.filter(code__startswith="SVC").order_by("code"))
    departments = list(Department.objects.select_related("site"))
    Monitor.objects.bulk_create(
        (
            Monitor(
                name=f"Check {i:05d}",
                kind="tcp",
                config={"host": "127.0.0.1", "port": 9},
                service=services[i % len(services)],
                department=departments[i % len(departments)],
                status="up",
                created_at=now - year,
                updated_at=now,
            )
            for i in range(MONITORS)
        ),
        batch_size=2000,
    )
    counts = {"rollups": _seed_rollups(now)}

    # Backups: a plan per service, a nightly job each, a year of good backups (a few missed).
    RecoveryPlan.objects.bulk_create(
        RecoveryPlan(
            service=s, rpo_minutes=26 * 60, rto_minutes=240, steps=["Restore"], updated_at=now
        )
        for s in services
    )
    beats = Monitor.objects.bulk_create(
        Monitor(
            name=f"Backup of {s.code}",
            kind="heartbeat",
            config={"period_s": 86400, "grace_s": 3600},
            service=s,
            department=departments[n % len(departments)],
            created_at=now - year,
            updated_at=now,
        )
        for n, s in enumerate(services)
    )
    BackupJob.objects.bulk_create(
        BackupJob(name=f"{m.name} nightly", service=m.service, monitor=m, created_at=now - year)
        for m in beats
    )
    pings = [
        HeartbeatPing(monitor=m, at=now - timedelta(days=d, hours=rng.randint(0, 3)), kind="ping")
        for m in beats
        for d in range(365)
        if rng.random() < 0.97
    ]
    HeartbeatPing.objects.bulk_create(pings, batch_size=5000)
    counts["pings"] = len(pings)

    # Self-help: 40 articles; 20,000 deflections over the year; a tenth of the tickets
    # filed after the portal suggested an article.
    Article.objects.bulk_create(
        Article(title=f"How to fix problem {i}", body="Steps.", status="published")
        for i in range(40)
    )
    articles = list(Article.objects.all())
    people = list(User.objects.all())
    Deflection.objects.bulk_create(
        (
            Deflection(
                article=rng.choice(articles),
                user=rng.choice(people),
                at=now - timedelta(minutes=rng.randint(0, 365 * 24 * 60)),
            )
            for _ in range(20_000)
        ),
        batch_size=5000,
    )
    ticket_ids = list(Ticket.objects.values_list("pk", flat=True))
    ArticleShown.objects.bulk_create(
        (
            ArticleShown(ticket_id=t, article=rng.choice(articles))
            for t in rng.sample(ticket_ids, len(ticket_ids) // 10)
        ),
        batch_size=5000,
    )

    # On call: 20 pages a day for a year, each reaching one to three people.
    staff = [u for u in people if u.role != "requester"]
    sites = [d.site for d in departments]
    made = Page.objects.bulk_create(
        (
            Page(
                title=f"Page {i}",
                priority="P1",
                source="monitoring",
                site=rng.choice([*sites, None]),
                storm_until=now,
                created_at=now - timedelta(minutes=rng.randint(0, 365 * 24 * 60)),
            )
            for i in range(20 * 365)
        ),
        batch_size=5000,
    )
    notes = []
    for p in made:
        for level, person in enumerate(rng.sample(staff, rng.randint(1, 3))):
            at = p.created_at + timedelta(minutes=5 * level)
            notes.append(
                Notification(
                    to=f"{person.username}@example.org",
                    subject=p.title,
                    body=p.title,
                    idempotency_key=f"bench:{p.pk}:{level}",
                    status="sent",
                    next_attempt_at=at,
                    created_at=at,
                    sent_at=at,
                    recipient=person,
                    page=p,
                    page_level=level,
                )
            )
    Notification.objects.bulk_create(notes, batch_size=5000)
    counts["notifications"] = len(notes)
    return counts


def _time(
    name: str, call: Callable[[], Any], database: str, seeded: dict[str, int]
) -> dict[str, Any]:
    return {
        "database": database,
        "tickets": TICKETS,
        "monitors": MONITORS,
        "rollups": seeded["rollups"],
        "case": name,
        **measure(call, RUNS, TARGET_MS),
    }


def _run(database: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
    django.setup()
    from django.db import connection
    from django.test import Client

    from careline.core.models import User
    from careline.reports.dashboards import catalog

    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "seed_tickets.py"), str(TICKETS)], check=True
    )
    started = time.perf_counter()
    seeded = _seed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {seeded} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    manager = User.objects.get(username="manager")
    client = Client()
    client.force_login(manager)

    def build(name: str, params: dict[str, str]) -> Callable[[], None]:
        return lambda: catalog.build(manager, name, params) and None

    def get(path: str, params: dict[str, str]) -> Callable[[], None]:
        def call() -> None:
            answer = client.get(path, params)
            assert answer.status_code == 200, answer.status_code

        return call

    for name in catalog.DASHBOARDS:
        cases = [
            (f"{name}: build, 30 days", build(name, {})),
            (f"{name}: GET page, 30 days", get(f"/reports/{name}/", {})),
            (f"{name}: GET page, 30 days, site NORTH", get(f"/reports/{name}/", {"site": "NORTH"})),
            (f"{name}: GET page, 365 days", get(f"/reports/{name}/", {"days": "365"})),
            (f"{name}: GET API, 365 days", get(f"/api/v1/reports/{name}", {"days": "365"})),
        ]
        for case, call in cases:
            print("ROW " + json.dumps(_time(case, call, database, seeded)), flush=True)


COLUMNS = [
    "database",
    "tickets",
    "monitors",
    "rollups",
    "case",
    "queries",
    "runs",
    "p50_ms",
    "max_ms",
    "target_ms",
    "ok",
]


def main() -> None:
    report("dashboards", rows_per_database(__file__, ["demo"]), COLUMNS)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        _run(sys.argv[2])
    else:
        main()
