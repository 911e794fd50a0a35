"""Status page speed: 10,000 monitors over 200 clinical services, on SQLite and PostgreSQL
(issue 9: the status page, Speed).

Floor: service_states() and the page (signed in, anonymous on the hospital network, its htmx
refresh and GET /api/v1/status) each under 2 s, in a number of queries that does not grow with
the monitors.

The hospital is seeded as plain rows: 50 monitors per service (3 % down, 2 % degraded, some
never checked or paused, a tenth carrying a rack tag), maintenance windows in force (naming
services, a list of 100 monitors, a tag, a nightly rule), 3 active downtime events with their
updates, 10 planned ones, 30 approved changes over the week with their windows, 5 notices.
Timed in-process: service_states() as the morning check calls it, and the pages through
Django's test client (the whole middleware stack and template rendering, no network).

    .venv/bin/python bench/bench_status.py
    CARELINE_BENCH_STATUS_MONITORS=20000 CARELINE_BENCH_STATUS_SERVICES=400 ...
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import measure, report, rows_per_database

MONITORS = int(os.environ.get("CARELINE_BENCH_STATUS_MONITORS", "10000"))
SERVICES = int(os.environ.get("CARELINE_BENCH_STATUS_SERVICES", "200"))
RUNS = int(os.environ.get("CARELINE_BENCH_STATUS_RUNS", "20"))
TARGET_MS = 2000.0


def _seed() -> None:
    from django.utils import timezone

    from careline.changes.models import Change
    from careline.continuity.models import DowntimeEvent, DowntimeUpdate
    from careline.core import services
    from careline.core.models import ClinicalService
    from careline.monitoring.models import MaintenanceWindow, Monitor
    from careline.reports.models import StatusNotice

    now = timezone.now()
    ClinicalService.objects.bulk_create(
        ClinicalService(code=f"SVC{i:03d}", name=f"Clinical service {i}", tier=1 + i % 3)
        for i in range(SERVICES)
    )
    svc = list(ClinicalService.objects.order_by("code"))
    per = max(1, MONITORS // len(svc))

    def status(i: int) -> tuple[str, bool]:
        bucket = i % 100
        if bucket < 3:
            return "down", False
        if bucket < 5:
            return "degraded", False
        if bucket == 5:
            return "unknown", False
        return "up", bucket == 6

    rows = []
    for i in range(MONITORS):
        state, paused = status(i)
        rows.append(
            Monitor(
                name=f"Check {i:05d}",
                kind="tcp",
                config={"host": "127.0.0.1", "port": 9},
                service=svc[min(i // per, len(svc) - 1)],
                status=state,
                status_since=now - timedelta(minutes=i % 600),
                paused=paused,
                tags=[f"rack-{i % 20}"] if i % 10 == 0 else [],
                created_at=now,
                updated_at=now,
            )
        )
    Monitor.objects.bulk_create(rows, batch_size=2000)
    admin = services.create_user(
        None, username="bench", role="admin", password=secrets.token_urlsafe(16)
    )

    def window(name: str, start: Any, end: Any, **extra: Any) -> MaintenanceWindow:
        return MaintenanceWindow.objects.create(
            name=name, starts_at=start, ends_at=end, created_at=now, **extra
        )

    for i in range(5):
        window(
            f"Service work {i}", now - timedelta(hours=1), now + timedelta(hours=1)
        ).services.set([svc[i]])
    listed = window("Switch stack swap", now - timedelta(minutes=10), now + timedelta(hours=2))
    listed.monitors.set(Monitor.objects.order_by("id")[1000:1100])
    window("Rack 3 power", now - timedelta(minutes=5), now + timedelta(hours=1), tags=["rack-3"])
    nightly = window(
        "Nightly reindex",
        now - timedelta(days=30),
        None,
        recurrence="0 3 * * *",
        duration_minutes=45,
    )
    nightly.services.set(svc[10:20])
    for i in range(20):
        start = now + timedelta(hours=6 + 7 * i)
        window(f"Future work {i}", start, start + timedelta(hours=1)).services.set([svc[20 + i]])

    for i in range(13):
        active = i < 3
        start = now - timedelta(hours=2) if active else now + timedelta(hours=12 + 10 * i)
        event = DowntimeEvent.objects.create(
            title=f"Downtime {i}",
            kind="unplanned" if active else "planned",
            status="active" if active else "scheduled",
            starts_at=start,
            ends_at=None if active else start + timedelta(hours=2),
            created_at=now,
        )
        event.services.set([svc[50 + i]])
        if active:
            DowntimeUpdate.objects.bulk_create(
                DowntimeUpdate(event=event, text=f"Update {n} on the restore.", at=now)
                for n in range(5)
            )
    for i in range(30):
        start = now + timedelta(hours=3 + 5 * i)
        made = window(f"CHG-{i:06d} window", start, start + timedelta(hours=2))
        made.services.set([svc[100 + i]])
        change = Change.objects.create(
            number=f"CHG-{i:06d}",
            kind="normal",
            state="scheduled",
            title=f"Patch the servers of service {100 + i}",
            requester=admin,
            planned_start=start,
            planned_end=start + timedelta(hours=2),
            maintenance_window=made if i % 2 else None,
            created_at=now,
            updated_at=now,
        )
        change.services.set([svc[100 + i]])
    for i in range(5):
        StatusNotice.objects.create(
            title=f"Notice {i}", text="Expect slowness.", posted_by=admin, posted_at=now
        ).services.set([svc[i]])


def _time(name: str, call: Callable[[], Any], database: str) -> dict[str, Any]:
    return {
        "database": database,
        "monitors": MONITORS,
        "services": SERVICES,
        "case": name,
        **measure(call, RUNS, TARGET_MS),
    }


def _run(database: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
    os.environ["CARELINE_STATUS_PUBLIC"] = "1"
    django.setup()
    from django.db import connection
    from django.test import Client

    from careline.core.models import User
    from careline.reports.status import states

    _seed()
    if database == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    staff = Client()
    staff.force_login(User.objects.get(username="bench"))
    ward = Client(REMOTE_ADDR="10.40.1.23")

    def get(client: Client, path: str, **headers: str) -> Callable[[], None]:
        def call() -> None:
            answer = client.get(path, headers=headers)
            assert answer.status_code == 200, answer.status_code

        return call

    counted = states.service_states()
    assert len(counted) == SERVICES
    assert sum(s.counts.watched + s.counts.paused for s in counted) == MONITORS
    cases = [
        ("service_states()", lambda: states.service_states()),
        ("GET /status/ (signed in)", get(staff, "/status/")),
        ("GET /status/ (anonymous, ward network)", get(ward, "/status/")),
        ("GET /status/ (htmx refresh)", get(ward, "/status/", **{"HX-Request": "true"})),
        ("GET /api/v1/status", get(ward, "/api/v1/status")),
    ]
    for name, call in cases:
        print("ROW " + json.dumps(_time(name, call, database)), flush=True)


COLUMNS = [
    "database",
    "monitors",
    "services",
    "case",
    "queries",
    "runs",
    "p50_ms",
    "max_ms",
    "target_ms",
    "ok",
]


def main() -> None:
    report("status", rows_per_database(__file__, ["migrate", "--verbosity", "0"]), COLUMNS)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run"]:
        _run(sys.argv[2])
    else:
        main()
