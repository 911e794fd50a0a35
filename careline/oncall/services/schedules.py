"""Who is on call: a schedule's layers and overrides worked out for an instant or a window.

Pure computation over a schedule read in a fixed number of queries; nothing here writes.
Every instant handed out is in UTC: comparing aware datetimes across zones goes wrong around
daylight-saving changes (PEP 495 makes == False for a repeated or skipped local time), so
local times exist only where a wall clock is read or shown.

A layer's hand-offs and restriction edges are wall-clock times in the schedule's zone. A time
that does not exist on a spring-forward day moves to the first instant after the gap; a time
that happens twice on a fall-back day is the first of the two (fold=0).
"""

from __future__ import annotations

import functools
import itertools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from careline.core.errors import InvalidInput, NotFound
from careline.core.models import User
from careline.oncall.models import Layer, LayerMember, Override, Schedule

OVERRIDE_SOURCE = "override"
# shifts() answers for at most this long a window: enough for any calendar view, and a
# bound on the work one request can ask for.
MAX_WINDOW = timedelta(days=100)
# How far on_call() looks either side of its instant for the start and end of the stretch.
STRETCH_HORIZON = timedelta(days=64)
# Instants CareLine computes schedules for; far outside, date arithmetic would overflow.
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class OnCall:
    """Who is on call at an instant, and from where. `starts_at` and `ends_at` bound the
    person's unbroken stretch (as shifts() shows it); None where it runs past STRETCH_HORIZON."""

    user: User
    starts_at: datetime | None
    ends_at: datetime | None
    source: str


@dataclass(frozen=True)
class Shift:
    """[start, end): one person (or nobody) on call without a break. Adjacent pieces of the
    same person are one shift; `sources` names where each piece came from, in order."""

    start: datetime
    end: datetime
    user: User | None
    sources: tuple[str, ...]

    @property
    def source(self) -> str:
        return " + ".join(self.sources)


@dataclass(frozen=True)
class _Piece:
    start: datetime
    end: datetime
    user: User


# --- reading a schedule ---------------------------------------------------------------------


def _prefetches(since: datetime | None) -> list[Prefetch[Any]]:
    overrides = Override.objects.select_related("user").order_by("starts_at")
    if since is not None:
        overrides = overrides.filter(ends_at__gt=since)
    return [
        Prefetch("layers", queryset=Layer.objects.order_by("position")),
        Prefetch(
            "layers__members",
            queryset=LayerMember.objects.select_related("user").order_by("position"),
        ),
        Prefetch("overrides", queryset=overrides),
    ]


def schedules_with_relations(since: datetime | None = None) -> QuerySet[Schedule]:
    """Schedules with their layers, members and overrides: four queries however many there
    are. With `since`, only overrides still running after it are read (the override_window
    index); ask nothing about instants before it."""
    return Schedule.objects.order_by("code").prefetch_related(*_prefetches(since))


def load_schedule(code: str, *, since: datetime | None = None, field: str = "code") -> Schedule:
    """One schedule with its relations, in four queries."""
    schedule = schedules_with_relations(since).filter(code=code).first()
    if schedule is None:
        raise NotFound(f"no on-call schedule has code {code[:40]!r}", field=field)
    return schedule


def schedule_by_code(code: str, field: str = "code") -> Schedule:
    """The schedule alone: on_call() and shifts() then read what they need of it."""
    schedule = Schedule.objects.filter(code=code).first()
    if schedule is None:
        raise NotFound(f"no on-call schedule has code {code[:40]!r}", field=field)
    return schedule


def zone_of(schedule: Schedule) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(schedule.time_zone)


@dataclass
class Rota:
    """A schedule's layers (top first) with their members, and its overrides by start."""

    schedule: Schedule
    zone: zoneinfo.ZoneInfo
    layers: list[tuple[Layer, list[User]]]
    overrides: list[Override]


def _is_prefetched(obj: Schedule | Layer, name: str) -> bool:
    return name in getattr(obj, "_prefetched_objects_cache", {})


def rota_of(schedule: Schedule, since: datetime | None = None) -> Rota:
    """The schedule's relations, from its prefetch cache when it has one (no query), else in
    three queries, reading overrides still running after `since`."""
    if _is_prefetched(schedule, "layers") and all(
        _is_prefetched(layer, "members") for layer in schedule.layers.all()
    ):
        layers = list(schedule.layers.all())
        members = {layer.pk: [m.user for m in layer.members.all()] for layer in layers}
    else:
        layers = list(Layer.objects.filter(schedule=schedule).order_by("position"))
        members = {layer.pk: [] for layer in layers}
        for member in (
            LayerMember.objects.filter(layer__schedule=schedule)
            .select_related("user")
            .order_by("layer_id", "position")
        ):
            members[member.layer_id].append(member.user)
    if _is_prefetched(schedule, "overrides"):
        overrides = list(schedule.overrides.all())
    else:
        rows = Override.objects.filter(schedule=schedule).select_related("user")
        if since is not None:
            rows = rows.filter(ends_at__gt=since)
        overrides = list(rows)
    layers.sort(key=lambda layer: layer.position, reverse=True)
    return Rota(
        schedule=schedule,
        zone=zone_of(schedule),
        layers=[(layer, members[layer.pk]) for layer in layers],
        overrides=sorted(overrides, key=lambda o: o.starts_at),
    )


# --- wall clocks ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def localise(day: date, wall: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """The instant (UTC) the wall clock in `zone` reads `wall` on `day`; a time skipped by a
    spring-forward change is the first instant after the gap, a repeated one the first."""
    naive = datetime.combine(day, wall)
    instant = naive.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # In a gap: fold=1 reads the wall time with the offset after the change (an instant
    # before it), fold=0 with the offset before (an instant after it). zoneinfo keeps its
    # transitions private, so find the change between the two to the second.
    before = int(naive.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    after = int(instant.timestamp())
    late_offset = instant.astimezone(zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == late_offset:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def local_date(instant: datetime, zone: zoneinfo.ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def as_utc(value: datetime, zone: zoneinfo.ZoneInfo, field: str) -> datetime:
    """An instant from outside: a naive one is read as the schedule's wall clock."""
    # The year is checked first: converting an instant near year 1 or 9999 overflows.
    if not EARLIEST <= value.replace(tzinfo=UTC) <= LATEST:
        raise InvalidInput(
            f"must be between {EARLIEST:%Y} and {LATEST:%Y} (got {value:%Y-%m-%d})", field=field
        )
    if timezone.is_naive(value):
        return localise(value.date(), value.time(), zone)
    return value.astimezone(UTC)


# --- one layer ------------------------------------------------------------------------------


def handoff(layer: Layer, k: int, zone: zoneinfo.ZoneInfo) -> datetime:
    """Where shift k of the layer starts."""
    day = layer.starts_on + timedelta(days=k * layer.length_days)
    return localise(day, layer.handoff_time, zone)


def shift_index(layer: Layer, at: datetime, zone: zoneinfo.ZoneInfo) -> int | None:
    """The layer's shift holding `at`, or None before its first hand-off."""
    if at < handoff(layer, 0, zone):
        return None
    k = max(0, (local_date(at, zone) - layer.starts_on).days // layer.length_days)
    while k > 0 and handoff(layer, k, zone) > at:
        k -= 1
    while handoff(layer, k + 1, zone) <= at:
        k += 1
    return k


def _is_restricted(layer: Layer) -> bool:
    return layer.restrict_from is not None and layer.restrict_to is not None


def _window(layer: Layer, day: date, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """The layer's restriction window opening on local `day` (it may close the next day)."""
    opens, closes = layer.restrict_from, layer.restrict_to
    assert opens is not None
    assert closes is not None
    closes_on = day + timedelta(days=1) if opens > closes else day
    return localise(day, opens, zone), localise(closes_on, closes, zone)


def in_restriction(layer: Layer, at: datetime, zone: zoneinfo.ZoneInfo) -> bool:
    if not _is_restricted(layer):
        return True
    today = local_date(at, zone)
    for day in (today - timedelta(days=1), today):
        opens, closes = _window(layer, day, zone)
        if opens <= at < closes:
            return True
    return False


def layer_user(
    layer: Layer, members: Sequence[User], at: datetime, zone: zoneinfo.ZoneInfo
) -> User | None:
    """Who the layer puts on call at `at`, or None where it does not cover."""
    if not members:
        return None
    k = shift_index(layer, at, zone)
    if k is None or not in_restriction(layer, at, zone):
        return None
    return members[k % len(members)]


def _clip(start: datetime, end: datetime, lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
    return max(start, lo), min(end, hi)


def _intersect(pieces: list[_Piece], windows: list[tuple[datetime, datetime]]) -> list[_Piece]:
    """The parts of sorted, disjoint pieces inside sorted, disjoint windows."""
    found: list[_Piece] = []
    i = j = 0
    while i < len(pieces) and j < len(windows):
        piece, (opens, closes) = pieces[i], windows[j]
        start, end = max(piece.start, opens), min(piece.end, closes)
        if start < end:
            found.append(_Piece(start, end, piece.user))
        if piece.end <= closes:
            i += 1
        else:
            j += 1
    return found


def layer_pieces(
    layer: Layer, members: Sequence[User], zone: zoneinfo.ZoneInfo, start: datetime, end: datetime
) -> list[_Piece]:
    """Where and for whom the layer covers inside [start, end), in order."""
    if not members:
        return []
    k = shift_index(layer, start, zone) or 0
    pieces: list[_Piece] = []
    begins = handoff(layer, k, zone)
    while begins < end:
        ends = handoff(layer, k + 1, zone)
        lo, hi = _clip(begins, ends, start, end)
        if lo < hi:
            pieces.append(_Piece(lo, hi, members[k % len(members)]))
        k, begins = k + 1, ends
    if not _is_restricted(layer):
        return pieces
    first, last = local_date(start, zone), local_date(end, zone)
    windows = []
    for offset in range(-1, (last - first).days + 1):
        opens, closes = _window(layer, first + timedelta(days=offset), zone)
        if opens < closes and opens < end and closes > start:
            windows.append((opens, closes))
    return _intersect(pieces, windows)


# --- a whole schedule -----------------------------------------------------------------------


def who_at(rota: Rota, at: datetime) -> tuple[User, str] | None:
    """The person on call at one instant and the source that put them there."""
    for override in rota.overrides:
        if override.starts_at <= at < override.ends_at:
            return override.user, OVERRIDE_SOURCE
    for layer, members in rota.layers:
        user = layer_user(layer, members, at, rota.zone)
        if user is not None:
            return user, layer.name
    return None


def segments(rota: Rota, start: datetime, end: datetime) -> list[Shift]:
    """Consecutive shifts covering [start, end) exactly, nobody's gaps included."""
    sources: list[tuple[str, list[_Piece]]] = [
        (
            OVERRIDE_SOURCE,
            [
                _Piece(*_clip(o.starts_at, o.ends_at, start, end), o.user)
                for o in rota.overrides
                if o.starts_at < end and o.ends_at > start
            ],
        )
    ]
    for layer, members in rota.layers:
        sources.append((layer.name, layer_pieces(layer, members, rota.zone, start, end)))
    edges = {start, end}
    for _, pieces in sources:
        for piece in pieces:
            edges.update((piece.start, piece.end))
    cuts = sorted(edges)
    cursor = [0] * len(sources)
    shifts: list[Shift] = []
    for lo, hi in itertools.pairwise(cuts):
        holder: tuple[User | None, str] = (None, "")
        for n, (name, pieces) in enumerate(sources):
            while cursor[n] < len(pieces) and pieces[cursor[n]].end <= lo:
                cursor[n] += 1
            if cursor[n] < len(pieces) and pieces[cursor[n]].start <= lo:
                holder = (pieces[cursor[n]].user, name)
                break
        user, name = holder
        _append(shifts, Shift(lo, hi, user, (name,) if name else ()))
    return shifts


def _same_person(a: User | None, b: User | None) -> bool:
    return (a.pk if a is not None else None) == (b.pk if b is not None else None)


def _append(shifts: list[Shift], shift: Shift) -> None:
    if shifts and shifts[-1].end == shift.start and _same_person(shifts[-1].user, shift.user):
        last = shifts.pop()
        sources = last.sources + tuple(s for s in shift.sources if s not in last.sources)
        shift = Shift(last.start, shift.end, last.user, sources)
    shifts.append(shift)


def check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidInput(f"must be after start ({start.isoformat()})", field="end")
    if end - start > MAX_WINDOW:
        days = (end - start) / timedelta(days=1)
        raise InvalidInput(
            f"the window may be at most {MAX_WINDOW.days} days (got {days:.1f})", field="end"
        )


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call from `start` to `end` (at most MAX_WINDOW apart), as consecutive
    shifts; a naive datetime is read in the schedule's zone."""
    zone = zone_of(schedule)
    start, end = as_utc(start, zone, "start"), as_utc(end, zone, "end")
    check_window(start, end)
    return segments(rota_of(schedule, since=start), start, end)


def stretch(rota: Rota, at: datetime) -> Shift:
    """The shift holding `at`, looked for in a window growing to STRETCH_HORIZON either side;
    a shift that touches the window's edge there runs on past it."""
    span = timedelta(days=1)
    while True:
        found = next(s for s in segments(rota, at - span, at + span) if s.start <= at < s.end)
        if (found.start > at - span and found.end < at + span) or span >= STRETCH_HORIZON:
            return found
        span = min(span * 4, STRETCH_HORIZON)


def on_call_from(rota: Rota, at: datetime) -> OnCall | None:
    """on_call() over a rota already read (`at` in UTC)."""
    found = who_at(rota, at)
    if found is None:
        return None
    user, source = found
    held = stretch(rota, at)
    return OnCall(
        user=user,
        starts_at=held.start if held.start > at - STRETCH_HORIZON else None,
        ends_at=held.end if held.end < at + STRETCH_HORIZON else None,
        source=source,
    )


def on_call(schedule: Schedule, at: datetime) -> OnCall | None:
    """Who is on call on the schedule at `at` (a naive datetime is read in the schedule's
    zone). No query when the schedule came from schedules_with_relations(); otherwise three."""
    at = as_utc(at, zone_of(schedule), "at")
    return on_call_from(rota_of(schedule, since=at - STRETCH_HORIZON), at)


def now_and_next(schedule: Schedule, at: datetime) -> tuple[OnCall | None, Shift | None]:
    """Who is on call at `at`, and the shift that follows theirs (whoever comes next, or a
    stretch with nobody), looking as far as STRETCH_HORIZON ahead."""
    at = as_utc(at, zone_of(schedule), "at")
    rota = rota_of(schedule, since=at - STRETCH_HORIZON)
    ahead = segments(rota, at, at + STRETCH_HORIZON)
    return on_call_from(rota, at), ahead[1] if len(ahead) > 1 else None
