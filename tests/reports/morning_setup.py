"""A night at Northgate for the morning check and handover tests: tickets opened at given
times, failing monitors, a stale backup, things about to expire, changes and an on-call rota,
made the way the services and the engine leave them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import time_machine
from django.utils import timezone

from careline.changes.models import Change
from careline.cmdb.models import Baa, ConfigItem, Contract, Vendor
from careline.continuity.models import BackupJob, RecoveryPlan
from careline.core.models import ClinicalService, Department, User
from careline.monitoring.models import HeartbeatPing, Monitor, MonitorIncident
from careline.oncall.models import Layer, LayerMember, Schedule
from careline.servicedesk.models import Comment, Ticket
from careline.servicedesk.services.tickets import TicketDraft, create_ticket

# Tuesday 10 March 2026, two days after the US clocks went forward: 07:00 in New York (EDT,
# UTC-4) is 11:00 UTC, in Chicago (CDT, UTC-5) 12:00 UTC.
NORTH_CHECK = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
RIVER_CHECK = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def ticket(actor: User, at: datetime, title: str, **draft: Any) -> Ticket:
    """A ticket opened through the desk at `at` (no page: the tests are not about paging)."""
    values: dict[str, Any] = {
        "kind": "incident",
        "title": title,
        "description": "Reported at the nurses' station.",
        "department": "NG-ED",
        "care_effect": "degraded",
        "scope": "person",
        "page": False,
    }
    values.update(draft)
    with time_machine.travel(at, tick=False):
        return create_ticket(actor, TicketDraft(**values))


def note(ticket_obj: Ticket, at: datetime, body: str, author: User) -> Comment:
    return Comment.objects.create(
        ticket=ticket_obj,
        author=author,
        author_name=author.username,
        body=body,
        public=False,
        created_at=at,
    )


def monitor(
    name: str,
    status: str,
    *,
    department: str | None = None,
    service: str | None = None,
    kind: str = "tcp",
    last_value: float | None = None,
    since: datetime | None = None,
    error: str = "",
) -> Monitor:
    now = timezone.now()
    return Monitor.objects.create(
        name=name,
        kind=kind,
        config={"host": f"{name.lower().replace(' ', '-')}.northgate.example", "port": 443},
        department=Department.objects.get(code=department) if department else None,
        service=ClinicalService.objects.get(code=service) if service else None,
        status=status,
        status_since=since or now - timedelta(hours=3),
        last_value=last_value,
        last_error=error,
        created_at=now - timedelta(days=30),
        updated_at=now,
    )


def backup(service: str, name: str, *, rpo_minutes: int, last_good: datetime | None) -> BackupJob:
    """A backup job of the service, its heartbeat and its newest good run."""
    now = timezone.now()
    svc = ClinicalService.objects.get(code=service)
    RecoveryPlan.objects.get_or_create(
        service=svc,
        defaults={"rpo_minutes": rpo_minutes, "rto_minutes": 240, "updated_at": now},
    )
    beat = monitor(f"{name} heartbeat", "up", kind="heartbeat", service=service)
    job = BackupJob.objects.create(
        name=name, service=svc, monitor=beat, created_at=now - timedelta(days=60)
    )
    if last_good is not None:
        HeartbeatPing.objects.create(monitor=beat, at=last_good, kind="ping")
    return job


def expiring(today: date) -> None:
    """A switch whose warranty ends in 10 days, a contract ending in 20 and one in 45, a BAA
    expiring in 25 days and one in 120."""
    vendor = Vendor.objects.create(name="Meditech Partners")
    other = Vendor.objects.create(name="Imaging Cloud Inc")
    ConfigItem.objects.create(
        name="Core switch ED",
        item_type="network_device",
        manufacturer="Aruba",
        model="6300",
        warranty_end=today + timedelta(days=10),
    )
    ConfigItem.objects.create(
        name="Spare printer",
        item_type="printer",
        warranty_end=today + timedelta(days=200),
    )
    for reference, days in (("C-EHR-2026", 20), ("C-PACS-2026", 45)):
        Contract.objects.create(
            vendor=vendor,
            reference=reference,
            coverage="Support for the EHR",
            starts_on=today - timedelta(days=340),
            ends_on=today + timedelta(days=days),
            yearly_cost=Decimal("1000.00"),
        )
    Baa.objects.create(
        vendor=vendor,
        status="active",
        signed_on=today - timedelta(days=700),
        expires_on=today + timedelta(days=25),
    )
    Baa.objects.create(
        vendor=other,
        status="active",
        signed_on=today - timedelta(days=100),
        expires_on=today + timedelta(days=120),
    )


def change(
    number: str, title: str, start: datetime, hours: int, requester: User, state: str
) -> Change:
    now = timezone.now()
    made = Change.objects.create(
        number=number,
        kind="normal",
        state=state,
        title=title,
        requester=requester,
        planned_start=start,
        planned_end=start + timedelta(hours=hours),
        risk_level="medium",
        created_at=now,
        updated_at=now,
    )
    made.services.set([ClinicalService.objects.get(code="EHR")])
    return made


def rota(engineer: User) -> Schedule:
    """IT on call: Sam, every day, handing over at 08:00 New York time."""
    schedule = Schedule.objects.create(
        code="IT-ONCALL",
        name="IT on call",
        time_zone="America/New_York",
        created_at=timezone.now(),
    )
    layer = Layer.objects.create(
        schedule=schedule,
        position=1,
        name="Daily",
        length_days=1,
        handoff_time=time(8),
        starts_on=date(2020, 1, 6),
    )
    LayerMember.objects.create(layer=layer, user=engineer, position=0)
    return schedule


def detected(ticket_obj: Ticket, watched: Monitor, since: datetime) -> MonitorIncident:
    return MonitorIncident.objects.create(
        source="monitor",
        monitor=watched,
        ticket=ticket_obj,
        opened_at=since,
        down_since=since,
    )
