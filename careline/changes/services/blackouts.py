"""Clinical blackout periods: when they fall, and adding or removing one."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from careline.changes.models import Blackout
from careline.core import audit
from careline.core.errors import InvalidInput, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.core.services import clean_name, service_by_code

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A weekly blackout is expanded over at most this span: a change window longer than this is
# refused long before it gets here, and the calendar asks for weeks, not years.
MAX_SPAN = timedelta(days=400)


@dataclass(frozen=True)
class Period:
    blackout: Blackout
    starts_at: datetime
    ends_at: datetime


def describe(blackout: Blackout) -> str:
    if blackout.weekly:
        days = ",".join(DAY_NAMES[d] for d in sorted(blackout.weekdays))
        assert blackout.start_time is not None
        assert blackout.end_time is not None
        return f"{days} {blackout.start_time:%H:%M}-{blackout.end_time:%H:%M} {blackout.time_zone}"
    assert blackout.starts_at is not None
    assert blackout.ends_at is not None
    return f"{blackout.starts_at:%Y-%m-%d %H:%M} to {blackout.ends_at:%Y-%m-%d %H:%M} UTC"


def periods(blackout: Blackout, start: datetime, end: datetime) -> list[Period]:
    """The blackout's periods that overlap [start, end)."""
    if not blackout.weekly:
        assert blackout.starts_at is not None
        assert blackout.ends_at is not None
        if blackout.starts_at < end and blackout.ends_at > start:
            return [Period(blackout, blackout.starts_at, blackout.ends_at)]
        return []
    assert blackout.start_time is not None
    assert blackout.end_time is not None
    zone = zoneinfo.ZoneInfo(blackout.time_zone)
    end = min(end, start + MAX_SPAN)
    day: date = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    found = []
    while day <= last:
        if day.weekday() in blackout.weekdays:
            # Local wall-clock times on that date: zoneinfo gives each date its own offset,
            # so 07:00 stays 07:00 on both sides of a daylight-saving change.
            local_start = datetime.combine(day, blackout.start_time, tzinfo=zone)
            local_end = datetime.combine(day, blackout.end_time, tzinfo=zone)
            s, e = local_start.astimezone(UTC), local_end.astimezone(UTC)
            if s < end and e > start:
                found.append(Period(blackout, s, e))
        day += timedelta(days=1)
    return found


def touching(service_ids: Sequence[int], start: datetime, end: datetime) -> list[Period]:
    """Every blackout period over [start, end) that covers one of these services."""
    blackouts = (
        Blackout.objects.filter(Q(all_services=True) | Q(services__in=service_ids))
        .filter(Q(starts_at__isnull=True) | Q(starts_at__lt=end, ends_at__gt=start))
        .distinct()
        .prefetch_related("services")
    )
    return [p for b in blackouts for p in periods(b, start, end)]


def _aware(value: datetime, field: str) -> datetime:
    if timezone.is_naive(value):
        raise InvalidInput("must carry a time zone offset", field=field)
    return value


def _zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name[:64]!r}", field="time_zone") from None
    return name


def _weekly(weekdays: Sequence[int], start_time: time | None, end_time: time | None) -> None:
    for day in weekdays:
        if not 0 <= day <= 6:
            raise InvalidInput(f"must be 0 (Monday) to 6 (Sunday) (got {day})", field="weekdays")
    if len(set(weekdays)) != len(weekdays):
        raise InvalidInput("names a day twice", field="weekdays")
    if start_time is None:
        raise InvalidInput("a weekly blackout needs its start_time", field="start_time")
    if end_time is None:
        raise InvalidInput("a weekly blackout needs its end_time", field="end_time")
    if end_time <= start_time:
        raise InvalidInput(
            f"must be after start_time (got {start_time:%H:%M} to {end_time:%H:%M})",
            field="end_time",
        )


@transaction.atomic
def create_blackout(
    actor: User,
    *,
    name: str,
    services: Sequence[str] = (),
    all_services: bool = False,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    weekdays: Sequence[int] = (),
    start_time: time | None = None,
    end_time: time | None = None,
    time_zone: str = "UTC",
    reason: str = "",
) -> Blackout:
    require(actor, Perm.CHANGES_APPROVE)
    name = clean_name(name)
    if not all_services and not services:
        raise InvalidInput("name at least one service, or set all_services", field="services")
    if all_services and services:
        raise InvalidInput("name services or set all_services, not both", field="services")
    found = [service_by_code(code, field="services") for code in services]
    one_off = starts_at is not None or ends_at is not None
    if one_off and weekdays:
        raise InvalidInput(
            "a blackout is one-off (starts_at, ends_at) or weekly (weekdays), not both",
            field="weekdays",
        )
    if weekdays:
        _weekly(weekdays, start_time, end_time)
    elif one_off:
        if starts_at is None:
            raise InvalidInput("a one-off blackout needs its start", field="starts_at")
        if ends_at is None:
            raise InvalidInput("a one-off blackout needs its end", field="ends_at")
        if _aware(ends_at, "ends_at") <= _aware(starts_at, "starts_at"):
            raise InvalidInput("must be after starts_at", field="ends_at")
    else:
        raise InvalidInput(
            "give starts_at and ends_at, or weekdays with start_time and end_time",
            field="starts_at",
        )
    blackout = Blackout.objects.create(
        name=name,
        all_services=all_services,
        starts_at=starts_at,
        ends_at=ends_at,
        weekdays=sorted(weekdays),
        start_time=start_time if weekdays else None,
        end_time=end_time if weekdays else None,
        time_zone=_zone(time_zone),
        reason=reason.strip(),
        created_at=timezone.now(),
    )
    blackout.services.set(found)
    audit.record(
        "blackout.create",
        actor=actor,
        obj=blackout,
        summary=f"Blackout {blackout.name}: {describe(blackout)}",
        after={
            "services": sorted(services) or "all",
            "when": describe(blackout),
            "reason": blackout.reason,
        },
    )
    return blackout


@transaction.atomic
def delete_blackout(actor: User, blackout_id: int) -> None:
    require(actor, Perm.CHANGES_APPROVE)
    blackout = Blackout.objects.select_for_update().filter(pk=blackout_id).first()
    if blackout is None:
        raise NotFound(f"no blackout {blackout_id}", field="id")
    audit.record(
        "blackout.delete",
        actor=actor,
        obj=blackout,
        summary=f"Blackout {blackout.name} removed",
        before={"when": describe(blackout), "reason": blackout.reason},
    )
    blackout.delete()
