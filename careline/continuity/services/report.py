"""The downtime report: how long, what, who, and how quickly people were told and recovered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from careline.continuity.models import DowntimeEvent


@dataclass(frozen=True)
class DowntimeReport:
    event_id: int
    reference: str
    kind: str
    status: str
    services: list[str]
    departments: list[str]
    starts_at: datetime
    ended_at: datetime | None
    duration_minutes: float  # so far, while it lasts
    # Minutes from the start to the departments being told; negative: told ahead of a planned one.
    time_to_notify_minutes: float | None
    # Minutes from the end to the last checklist item done (recovery and back-entry).
    time_to_recover_minutes: float | None
    checklist_done: int
    checklist_total: int
    tickets: list[str]


def _minutes(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 60, 1)


def build(event: DowntimeEvent) -> DowntimeReport:
    now = timezone.now()
    items = list(event.checklist.all())
    return DowntimeReport(
        event_id=event.pk,
        reference=event.reference,
        kind=event.kind,
        status=event.status,
        services=[s.code for s in event.services.order_by("tier", "code")],
        departments=[d.code for d in event.departments.order_by("code")],
        starts_at=event.starts_at,
        ended_at=event.ended_at,
        duration_minutes=max(0.0, _minutes(event.starts_at, event.ended_at or now)),
        time_to_notify_minutes=(
            _minutes(event.starts_at, event.notified_at) if event.notified_at else None
        ),
        time_to_recover_minutes=(
            _minutes(event.ended_at, event.recovered_at)
            if event.ended_at and event.recovered_at
            else None
        ),
        checklist_done=sum(1 for i in items if i.done_at is not None),
        checklist_total=len(items),
        tickets=sorted(event.tickets.values_list("number", flat=True)),
    )
