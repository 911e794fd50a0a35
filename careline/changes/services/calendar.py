"""The change calendar: changes and blackout periods, day by day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from careline.changes.choices import ChangeState
from careline.changes.models import Blackout, Change
from careline.changes.services import blackouts
from careline.core.errors import InvalidInput
from careline.core.models import User
from careline.core.permissions import Perm, require

MAX_DAYS = 92


@dataclass(frozen=True)
class Entry:
    kind: str  # "change" or "blackout"
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    state: str
    services: list[str]


@dataclass
class Day:
    day: date
    entries: list[Entry] = field(default_factory=list)


def _check(start: datetime, end: datetime) -> None:
    for value, name in ((start, "start"), (end, "end")):
        if timezone.is_naive(value):
            raise InvalidInput("must carry a time zone offset", field=name)
    if end <= start:
        raise InvalidInput("must be after start", field="end")
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidInput(f"the calendar shows at most {MAX_DAYS} days", field="end")


def entries(actor: User, start: datetime, end: datetime) -> list[Entry]:
    require(actor, Perm.CHANGES_VIEW)
    _check(start, end)
    found = [
        Entry(
            "change",
            c.pk,
            f"{c.number} {c.title}",
            c.planned_start,
            c.planned_end,
            c.state,
            [s.code for s in c.services.all()],
        )
        for c in Change.objects.filter(planned_start__lt=end, planned_end__gt=start)
        .exclude(state__in=[ChangeState.REJECTED, ChangeState.DRAFT])
        .prefetch_related("services")
        if c.planned_start is not None and c.planned_end is not None
    ]
    for blackout in Blackout.objects.prefetch_related("services"):
        codes = ["all"] if blackout.all_services else [s.code for s in blackout.services.all()]
        found.extend(
            Entry("blackout", blackout.pk, blackout.name, p.starts_at, p.ends_at, "blackout", codes)
            for p in blackouts.periods(blackout, start, end)
        )
    return sorted(found, key=lambda e: (e.starts_at, e.kind, e.id))


def days(actor: User, start: datetime, end: datetime) -> list[Day]:
    """Each local day from start to end with what touches it; an entry spanning days shows
    on each of them."""
    listed = entries(actor, start, end)
    first = timezone.localtime(start).date()
    last = timezone.localtime(end - timedelta(microseconds=1)).date()
    result = []
    day = first
    while day <= last:
        result.append(
            Day(
                day,
                [
                    e
                    for e in listed
                    if timezone.localtime(e.starts_at).date()
                    <= day
                    <= timezone.localtime(e.ends_at - timedelta(microseconds=1)).date()
                ],
            )
        )
        day += timedelta(days=1)
    return result
