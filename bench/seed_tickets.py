"""Seed N tickets straight into a CareLine database (run with CARELINE_* / DATABASE_URL set).

A year of history: most tickets resolved or closed, about one in six still open, priorities,
departments and services spread as a hospital's are. Bypasses the services on purpose (it is
a fixture, not a workload): no audit events, no emails.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from careline.core.models import ClinicalService, Department, User  # noqa: E402
from careline.servicedesk.models import Queue, Ticket, TicketCounter  # noqa: E402

PROBLEMS = [
    "Scanner won't read wristbands",
    "Label printer jammed",
    "Cannot log in to the EHR",
    "Badge tap not working",
    "Virtual desktop frozen",
    "Cart computer battery dies",
    "Wi-Fi drops on the ward",
    "PACS viewer slow",
    "Dictation microphone not detected",
    "Telehealth video has no sound",
    "Pharmacy cabinet will not open",
    "Nurse call console offline",
    "Lab results not showing",
    "Email not syncing on phone",
    "Printer out of toner",
    "Password expired",
    "MFA prompt never arrives",
    "Monitor flickering",
    "Keyboard sticky",
    "Phone has no dial tone",
]
DETAILS = [
    "Started after the night shift handover.",
    "Happens every few minutes.",
    "Tried restarting, no change.",
    "Affects bay 4 and bay 5.",
    "The error says access denied.",
    "Urgent: med pass due at 08:00.",
    "Worked yesterday.",
    "Screen shows a spinning wheel.",
    "Other staff see the same.",
    "Only on this workstation.",
]


def main(count: int) -> None:
    rng = random.Random(20261124)
    departments = list(Department.objects.select_related("site"))
    services = [*ClinicalService.objects.all(), None]
    requesters = list(User.objects.filter(role="requester"))
    staff = list(User.objects.exclude(role__in=["requester", "auditor"]))
    queues = list(Queue.objects.all())
    now = timezone.now()
    started = time.perf_counter()
    batch: list[Ticket] = []
    closed_statuses = ["closed"] * 6 + ["resolved"]
    open_statuses = ["new", "assigned", "in_progress", "waiting_requester", "waiting_vendor"]
    first = (
        TicketCounter.objects.filter(kind="incident").values_list("last", flat=True).first() or 0
    ) + 1
    for i in range(first, first + count):
        created = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        department = rng.choice(departments)
        priority = rng.choices(["P1", "P2", "P3", "P4"], weights=[2, 10, 48, 40])[0]
        is_open = rng.random() < 0.16
        status = rng.choice(open_statuses if is_open else closed_statuses)
        respond = {"P1": 15, "P2": 30, "P3": 240, "P4": 600}[priority]
        resolve = {"P1": 240, "P2": 480, "P3": 1800, "P4": 6000}[priority]
        batch.append(
            Ticket(
                number=f"INC-{i:06d}",
                kind="incident",
                title=rng.choice(PROBLEMS),
                description=" ".join(rng.sample(DETAILS, 2)),
                requester=rng.choice(requesters),
                department=department,
                site=department.site,
                service=rng.choice(services),
                care_effect=rng.choice(["blocked", "degraded", "none"]),
                scope=rng.choice(["person", "person", "department", "site"]),
                priority=priority,
                priority_reason="Seeded",
                status=status,
                queue=rng.choice(queues),
                assignee=rng.choice(staff) if status != "new" else None,
                created_at=created,
                updated_at=created,
                respond_by=created + timedelta(minutes=respond),
                resolve_by=created + timedelta(minutes=resolve),
                respond_warn_at=created + timedelta(minutes=respond * 0.75),
                resolve_warn_at=created + timedelta(minutes=resolve * 0.75),
                responded_at=None if status == "new" else created + timedelta(minutes=respond / 2),
                response_result="" if status == "new" else "met",
                resolved_at=None if is_open else created + timedelta(minutes=resolve / 2),
                resolution_result="" if is_open else "met",
                resolution_code="" if is_open else "fixed",
                resolution_notes="" if is_open else "Seeded resolution.",
            )
        )
        if len(batch) == 5000:
            with transaction.atomic():
                Ticket.objects.bulk_create(batch)
            batch = []
    if batch:
        with transaction.atomic():
            Ticket.objects.bulk_create(batch)
    TicketCounter.objects.update_or_create(kind="incident", defaults={"last": first + count - 1})
    # What a running installation has: statistics for the planner (CareLine's engine runs
    # PRAGMA optimize on SQLite; PostgreSQL's autovacuum analyses and sets visibility maps).
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE servicedesk_ticket"
        )
    print(f"seeded {count} tickets in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
