"""Morning check and handover speed: 100,000 tickets over a year, 10,000 monitors, on SQLite
and PostgreSQL (issue 9: Speed).

Floor: build_morning_check(), build_handover() and the pages (/morning/, /handover/, GET
/api/v1/morning-check) each under 2 s, in a number of queries that does not grow with the data.

The demo hospital, then as plain rows: 100,000 tickets spread over a year (bench/seed_tickets.py;
about one in six open), 50,000 notes on them, 10,000 monitors over the clinical services and
departments (3 % down, 2 % degraded, 1 % TLS checks with days left), a monitoring incident for
every failing monitor, 2,000 configuration items with warranties, 200 contracts, 50 BAAs,
600 changes over the year, 40 backup jobs with a year of nightly pings. Timed in-process: the
builders as the engine calls them, and the pages through Django's test client (the whole
middleware stack and template rendering, no network).

    .venv/bin/python bench/bench_morning.py
    CARELINE_BENCH_MORNING_TICKETS=200000 CARELINE_BENCH_MORNING_MONITORS=20000 ...
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, measure, report, rows_per_database

TICKETS = int(os.environ.get("CARELINE_BENCH_MORNING_TICKETS", "100000"))
MONITORS = int(os.environ.get("CARELINE_BENCH_MORNING_MONITORS", "10000"))
RUNS = int(os.environ.get("CARELINE_BENCH_MORNING_RUNS", "10"))
TARGET_MS = 2000.0


def _seed() -> None:
    from django.db import connection
    from django.utils import timezone

    from careline.changes.models import Change
    from careline.cmdb.models import Baa, ConfigItem, Contract, Vendor
    from careline.continuity.models import BackupJob, RecoveryPlan
    from careline.core.models import ClinicalService, Department, User
    from careline.monitoring.models import HeartbeatPing, Monitor, MonitorIncident
    from careline.reports.morning.models import HandoverNote
    from careline.servicedesk.models import Comment, Ticket

    rng = random.Random(20260310)
    now = timezone.now()
    today = timezone.localdate()
    services = list(ClinicalService.objects.order_by("code"))
    departments = list(Department.objects.order_by("code"))
    staff = list(User.objects.exclude(role="requester"))

    open_ids = list(Ticket.objects.filter(done=False).values_list("id", flat=True))
    all_ids = list(Ticket.objects.values_list("id", flat=True))
    notes = [
        Comment(
            ticket_id=rng.choice(open_ids if n % 2 else all_ids),
            author=(who := rng.choice(staff)),
            author_name=who.username,
            body=f"Checked again, note {n}.",
            public=bool(n % 3),
            created_at=now - timedelta(minutes=rng.randint(0, 365 * 24 * 60)),
        )
        for n in range(50_000)
    ]
    Comment.objects.bulk_create(notes, batch_size=5000)

    def status(i: int) -> str:
        bucket = i % 100
        return "down" if bucket < 3 else "degraded" if bucket < 5 else "up"

    monitors = [
        Monitor(
            name=f"Check {i:05d}",
            kind="tls" if i % 100 == 50 else "tcp",
            config={"host": f"host{i}.hospital.example", "port": 443},
            service=services[i % len(services)],
            department=departments[i % len(departments)] if i % 4 else None,
            status=status(i),
            status_since=now - timedelta(minutes=i % 900),
            last_value=float(i % 60) if i % 100 == 50 else None,
            last_error="connection refused" if status(i) != "up" else "",
            created_at=now - timedelta(days=365),
            updated_at=now,
        )
        for i in range(MONITORS)
    ]
    Monitor.objects.bulk_create(monitors, batch_size=2000)
    failing = list(Monitor.objects.filter(status__in=["down", "degraded"]).order_by("id"))
    open_tickets = (
        Ticket.objects.filter(done=False)
        .order_by("-created_at")
        .values_list("id", flat=True)[: len(failing)]
    )
    MonitorIncident.objects.bulk_create(
        MonitorIncident(
            source="monitor",
            monitor=m,
            ticket_id=t,
            opened_at=m.status_since or now,
            down_since=m.status_since or now,
        )
        for m, t in zip(failing, open_tickets, strict=False)
    )

    vendors = Vendor.objects.bulk_create(Vendor(name=f"Vendor {i:03d}") for i in range(100))
    ConfigItem.objects.bulk_create(
        (
            ConfigItem(
                name=f"Item {i:05d}",
                item_type="workstation",
                site=departments[i % len(departments)].site if i % 3 else None,
                warranty_end=today + timedelta(days=rng.randint(-400, 900)),
            )
            for i in range(2000)
        ),
        batch_size=1000,
    )
    Contract.objects.bulk_create(
        Contract(
            vendor=vendors[i % len(vendors)],
            reference=f"C-{i:04d}",
            coverage="Support and parts",
            starts_on=today - timedelta(days=300),
            ends_on=today + timedelta(days=rng.randint(-100, 700)),
            yearly_cost=Decimal("1000.00"),
        )
        for i in range(200)
    )
    Baa.objects.bulk_create(
        Baa(
            vendor=vendors[i],
            status="active",
            signed_on=today - timedelta(days=500),
            expires_on=today + timedelta(days=rng.randint(-50, 400)),
        )
        for i in range(50)
    )
    requester = staff[0]
    changes = Change.objects.bulk_create(
        Change(
            number=f"CHG-9{i:05d}",
            kind="normal",
            state=rng.choice(["closed", "closed", "approved", "scheduled", "implementing"]),
            title=f"Planned work {i}",
            requester=requester,
            planned_start=(start := now - timedelta(days=300) + timedelta(hours=12 * i)),
            planned_end=start + timedelta(hours=2),
            created_at=now,
            updated_at=now,
        )
        for i in range(600)
    )
    through = Change.services.through
    through.objects.bulk_create(
        through(change_id=c.pk, clinicalservice_id=services[n % len(services)].pk)
        for n, c in enumerate(changes)
    )
    for n, service in enumerate(services):
        RecoveryPlan.objects.get_or_create(
            service=service, defaults={"rpo_minutes": 1440, "rto_minutes": 240, "updated_at": now}
        )
        for k in range(3):
            beat = Monitor.objects.create(
                name=f"{service.code} backup {k} heartbeat",
                kind="heartbeat",
                service=service,
                status="up",
                created_at=now - timedelta(days=365),
                updated_at=now,
            )
            BackupJob.objects.create(
                name=f"{service.code} backup {k}",
                service=service,
                monitor=beat,
                created_at=now - timedelta(days=365),
            )
            # A year of nightly runs; one job in seven missed the last two nights.
            skip = 2 if (n + k) % 7 == 0 else 0
            HeartbeatPing.objects.bulk_create(
                HeartbeatPing(monitor=beat, at=now - timedelta(days=d, hours=5), kind="ping")
                for d in range(skip, 365)
            )
    site = departments[0].site
    HandoverNote.objects.bulk_create(
        HandoverNote(
            site=site,
            author=rng.choice(staff),
            text=f"Watch item {i}.",
            created_at=now - timedelta(hours=i),
            shift_starts_at=now - timedelta(hours=12 * i),
        )
        for i in range(730)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")


def _time(name: str, call: Callable[[], Any], database: str) -> dict[str, Any]:
    return {
        "database": database,
        "tickets": TICKETS,
        "monitors": MONITORS,
        "case": name,
        **measure(call, RUNS, TARGET_MS),
    }


def _run(database: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
    django.setup()
    from django.test import Client
    from django.utils import timezone

    from careline.core.models import Site, User
    from careline.reports.morning.check import build_morning_check
    from careline.reports.morning.handover import build_handover

    _seed()
    site = Site.objects.get(code="NORTH")
    agent = User.objects.get(username="agent")
    client = Client()
    client.force_login(agent)

    def get(path: str) -> Callable[[], None]:
        def call() -> None:
            answer = client.get(path)
            assert answer.status_code == 200, answer.status_code

        return call

    cases = [
        ("build_morning_check() (agent)", lambda: build_morning_check(site, timezone.now(), agent)),
        ("build_morning_check() (email)", lambda: build_morning_check(site, timezone.now())),
        ("build_handover() (agent)", lambda: build_handover(site, timezone.now(), agent)),
        ("GET /morning/", get("/morning/?site=NORTH")),
        ("GET /api/v1/morning-check", get("/api/v1/morning-check?site=NORTH")),
        ("GET /handover/", get("/handover/?site=NORTH")),
        ("GET /api/v1/handover", get("/api/v1/handover?site=NORTH")),
    ]
    for name, call in cases:
        print("ROW " + json.dumps(_time(name, call, database)), flush=True)


COLUMNS = [
    "database",
    "tickets",
    "monitors",
    "case",
    "queries",
    "runs",
    "p50_ms",
    "max_ms",
    "target_ms",
    "ok",
]


def main() -> None:
    seed = [sys.executable, str(ROOT / "bench" / "seed_tickets.py"), str(TICKETS)]
    report("morning", rows_per_database(__file__, ["demo"], [seed]), COLUMNS)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        _run(sys.argv[2])
    else:
        main()
