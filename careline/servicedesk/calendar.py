"""SLA clock arithmetic: when a ticket's target falls due, and how much of it has elapsed.

A target runs on one of two calendars. ``None`` is 24/7: plain elapsed time. A
:class:`BusinessHours` is a site's opening hours: wall-clock intervals per weekday in the
site's IANA time zone, minus local holidays.

Each local day's intervals are turned into UTC instants and all arithmetic is done on those
instants, so an interval that spans a daylight-saving change lasts as long as it really
does: 00:00-06:00 on the night the clocks go back is seven hours of cover, on the night
they go forward five. Wall-clock times that do not exist or occur twice that night are
resolved by :func:`_localise`.

Pure standard library, and no clock: callers pass the instants (``timezone.now()``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BusinessHours",
    "Calendar",
    "add_business_minutes",
    "business_minutes_between",
    "is_open",
    "next_opening",
]

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# How long the clock may look for an opening before giving up: a calendar closed for three
# years (a holiday list gone wrong) is a configuration error, not a due date.
MAX_CLOSED_DAYS = 3 * 366

_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)
_ONE_SECOND = timedelta(seconds=1)

Interval: TypeAlias = tuple[datetime, datetime]


@dataclass(frozen=True)
class BusinessHours:
    """A site's business hours: when an SLA clock on business time runs.

    ``weekly`` maps a weekday (0=Monday .. 6=Sunday) to its open intervals ``[start, end)``
    in local wall-clock time, sorted and not overlapping; several intervals make a lunch
    break. A weekday that is absent, or maps to no intervals, is closed. An interval cannot
    run past midnight: ``end`` must be later than ``start`` on the same day.
    ``holidays`` are local dates with no business hours at all.

    The instance is immutable and hashable: ``weekly`` is stored as a read-only mapping of
    tuples and ``holidays`` as a frozenset, whatever was passed in.
    """

    time_zone: str
    weekly: Mapping[int, Sequence[tuple[time, time]]]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _load_zone(self.time_zone)
        # Frozen dataclass: normalising the fields in place is the documented way.
        object.__setattr__(self, "weekly", MappingProxyType(_validated_weekly(self.weekly)))
        object.__setattr__(self, "holidays", _validated_holidays(self.holidays))

    def __hash__(self) -> int:
        days = tuple((day, tuple(self.weekly[day])) for day in sorted(self.weekly))
        return hash((self.time_zone, days, self.holidays))

    @classmethod
    def standard(
        cls,
        time_zone: str,
        start: time = time(8),
        end: time = time(18),
        weekdays: Iterable[int] = range(5),
        holidays: Iterable[date] = (),
    ) -> BusinessHours:
        """One interval a day on the given weekdays: by default Monday to Friday, 08:00-18:00."""
        return cls(
            time_zone=time_zone,
            weekly=dict.fromkeys(weekdays, ((start, end),)),
            holidays=frozenset(holidays),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)  # ZoneInfo caches instances by key

    @property
    def day_minutes(self) -> int:
        """Whole minutes of business time in the longest configured day.

        Used to turn "3 business days" into minutes. Measured on the wall clock: the
        nominal day, not the one that happens to span a daylight-saving change.
        """
        longest = max(
            sum(
                (_since_midnight(end) - _since_midnight(start) for start, end in intervals),
                timedelta(),
            )
            for intervals in self.weekly.values()
        )
        return longest // _ONE_MINUTE


Calendar: TypeAlias = BusinessHours | None
"""The calendar an SLA target runs on; ``None`` means 24/7."""


def add_business_minutes(start: datetime, minutes: float, calendar: Calendar) -> datetime:
    """The instant (in UTC) at which ``minutes`` of business time have elapsed after ``start``.

    If ``start`` is outside business hours the clock starts at the next opening, so zero
    minutes gives ``next_opening(start)``. A target used up exactly at closing time falls
    due at that close, not at the next opening. On the 24/7 calendar this is simply
    ``start + minutes`` of real time.
    """
    instant = _utc(start, "start")
    budget = _duration(minutes)
    try:
        if calendar is None:
            return instant + budget
        return _spend(instant, budget, calendar)
    except OverflowError as error:
        raise ValueError(
            f"{minutes} business minutes after {start.isoformat()} is beyond the year 9999"
        ) from error


def business_minutes_between(start: datetime, end: datetime, calendar: Calendar) -> float:
    """Business minutes elapsed in ``[start, end)``; 0 if ``end`` is not after ``start``.

    The inverse of :func:`add_business_minutes`:
    ``business_minutes_between(s, add_business_minutes(s, m, c), c) == m`` (to the
    microsecond) for any ``s``, open or not, since the time before the next opening does
    not count.
    """
    begin = _utc(start, "start")
    finish = _utc(end, "end")
    if finish <= begin:
        return 0.0
    if calendar is None:
        return (finish - begin) / _ONE_MINUTE
    zone = calendar.zone
    total = timedelta()
    # The day either side is read as well: where a site's clocks change around midnight,
    # a neighbouring local day's interval can reach past the first or last local date.
    day = _local_date(begin, zone) - _ONE_DAY
    last_day = _local_date(finish, zone) + _ONE_DAY
    while day <= last_day:
        for opens, closes in _day_intervals(day, calendar, zone):
            overlap = min(closes, finish) - max(opens, begin)
            if overlap > timedelta():
                total += overlap
        day += _ONE_DAY
    return total / _ONE_MINUTE


def next_opening(at: datetime, calendar: BusinessHours) -> datetime:
    """``at`` itself (in UTC) if business hours are open then, else the next opening."""
    instant = _utc(at, "at")
    try:
        return _spend(instant, timedelta(), calendar)
    except OverflowError as error:
        raise ValueError(f"no opening after {at.isoformat()} before the year 9999") from error


def is_open(at: datetime, calendar: Calendar) -> bool:
    """Whether the SLA clock is running at ``at``: always, on the 24/7 calendar."""
    instant = _utc(at, "at")
    if calendar is None:
        return True
    zone = calendar.zone
    day = _local_date(instant, zone)
    return any(
        opens <= instant < closes
        for neighbour in (day - _ONE_DAY, day, day + _ONE_DAY)
        for opens, closes in _day_intervals(neighbour, calendar, zone)
    )


# --- the clock ------------------------------------------------------------------------------


def _spend(instant: datetime, budget: timedelta, hours: BusinessHours) -> datetime:
    """Walk the open intervals from ``instant`` until ``budget`` of business time is spent."""
    first_day = _local_date(instant, hours.zone) - _ONE_DAY
    for opens, closes in _intervals_from(first_day, hours):
        if closes <= instant:
            continue
        opens = max(opens, instant)
        available = closes - opens
        if budget <= available:
            return opens + budget
        budget -= available
    raise AssertionError("_intervals_from never runs out: it raises instead")


def _intervals_from(first_day: date, hours: BusinessHours) -> Iterator[Interval]:
    """Every open interval from ``first_day`` on, in order; raises after 3 closed years."""
    zone = hours.zone
    day = first_day
    closed_days = 0
    while True:
        intervals = _day_intervals(day, hours, zone)
        if intervals:
            closed_days = 0
            yield from intervals
        else:
            closed_days += 1
            if closed_days > MAX_CLOSED_DAYS:
                raise ValueError(
                    f"business hours in {hours.time_zone} have no opening for more than 3 years "
                    f"({MAX_CLOSED_DAYS} days) from {first_day + _ONE_DAY}; "
                    "check the holidays and weekly hours"
                )
        day += _ONE_DAY


def _day_intervals(day: date, hours: BusinessHours, zone: ZoneInfo) -> list[Interval]:
    """The open intervals of one local day, as UTC instants, in order.

    Localising is monotonic (see ``_localise``), so intervals that are sorted and disjoint
    on the wall clock stay so, across days too; an interval lying wholly in a skipped hour
    shrinks to nothing and is dropped.
    """
    if day in hours.holidays:
        return []
    intervals = []
    for start, end in hours.weekly.get(day.weekday(), ()):
        opens = _localise(day, start, zone)
        closes = _localise(day, end, zone)
        if opens < closes:
            intervals.append((opens, closes))
    return intervals


def _localise(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the site's clocks show ``wall`` on ``day``.

    Twice-shown times (clocks go back) take the first showing, fold=0: an interval that
    starts or ends at 01:30 that night starts or ends the first time the clock reads 01:30.

    Never-shown times (clocks go forward) become the first instant after the gap, the
    moment the clocks jump: in New York on 2026-03-08 02:30 becomes 03:00 EDT. zoneinfo
    alone would move such a time by the size of the jump (fold=0 gives 03:30, fold=1 01:30),
    which could put an opening after the next interval's start or outside its own day.
    """
    local = datetime.combine(day, wall.replace(fold=0), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    return _end_of_gap(local, zone)


def _end_of_gap(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clocks jump forward past ``local``, a wall time that never happens.

    With fold=1 the wall time is read with the offset after the jump, which lands before it;
    with fold=0 with the offset before, which lands at or after it. Time zone transitions
    fall on whole seconds, so a bisection on seconds between the two finds the jump exactly.
    """
    before = local.replace(fold=1).astimezone(UTC)
    offset_before = before.astimezone(zone).utcoffset()
    low = before.replace(microsecond=0)
    high = local.astimezone(UTC)
    if high.microsecond:
        high = high.replace(microsecond=0) + _ONE_SECOND
    while high - low > _ONE_SECOND:
        middle = low + (high - low) // 2 // _ONE_SECOND * _ONE_SECOND
        if middle.astimezone(zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return high


def _local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def _since_midnight(wall: time) -> timedelta:
    return timedelta(
        hours=wall.hour, minutes=wall.minute, seconds=wall.second, microseconds=wall.microsecond
    )


# --- validation -----------------------------------------------------------------------------


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime (got {type(value).__name__} {value!r})")
    if value.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime (got naive {value.isoformat()}); "
            "use django.utils.timezone.now() or attach a ZoneInfo"
        )
    return value.astimezone(UTC)


def _duration(minutes: float) -> timedelta:
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"minutes must be a finite number of at least 0 (got {minutes!r})")
    try:
        return timedelta(minutes=minutes)
    except OverflowError as error:
        raise ValueError(f"minutes is too large for a due date (got {minutes!r})") from error


def _load_zone(name: str) -> ZoneInfo:
    if not isinstance(name, str):
        raise ValueError(f"time_zone must be an IANA time zone name (got {name!r})")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(
            f"time_zone must be an IANA time zone name such as 'Europe/London' (got {name!r})"
        ) from error


def _validated_weekly(
    weekly: Mapping[int, Sequence[tuple[time, time]]],
) -> dict[int, tuple[tuple[time, time], ...]]:
    if not isinstance(weekly, Mapping):
        raise ValueError(
            f"weekly must map weekdays (0=Monday) to open intervals (got {type(weekly).__name__})"
        )
    validated = {}
    for day, intervals in weekly.items():
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValueError(f"weekly: a weekday must be 0 (Monday) to 6 (Sunday) (got {day!r})")
        checked = _validated_intervals(day, intervals)
        if checked:
            validated[day] = checked
    if not validated:
        raise ValueError(
            "weekly has no business hours on any weekday, so the clock would never run; "
            "use the 24/7 calendar (None) for a target that always runs"
        )
    return dict(sorted(validated.items()))


def _validated_intervals(
    day: int, intervals: Sequence[tuple[time, time]]
) -> tuple[tuple[time, time], ...]:
    where = f"weekly[{day}] ({WEEKDAY_NAMES[day]})"
    if isinstance(intervals, str | bytes) or not isinstance(intervals, Iterable):
        raise ValueError(f"{where} must be a list of (start, end) intervals (got {intervals!r})")
    checked: list[tuple[time, time]] = []
    for interval in intervals:
        try:
            start, end = interval
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: an interval must be a (start, end) pair of times (got {interval!r})"
            ) from None
        if not (isinstance(start, time) and isinstance(end, time)):
            raise ValueError(
                f"{where}: an interval must be a (start, end) pair of times (got {interval!r})"
            )
        label = f"{where} interval {_format_wall(start)}-{_format_wall(end)}"
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(
                f"{label} must be in naive wall-clock time; the zone is given by time_zone"
            )
        if start >= end:
            raise ValueError(
                f"{label} is empty or backwards: start must be before end, "
                "and an interval cannot run past midnight (split it across two days)"
            )
        if checked:
            previous_start, previous_end = checked[-1]
            if start < previous_start:
                raise ValueError(
                    f"{label} is out of order: it starts before the previous interval "
                    f"{_format_wall(previous_start)}-{_format_wall(previous_end)}"
                )
            if start < previous_end:
                raise ValueError(
                    f"{label} overlaps the previous interval "
                    f"{_format_wall(previous_start)}-{_format_wall(previous_end)}"
                )
        checked.append((start.replace(fold=0), end.replace(fold=0)))
    return tuple(checked)


def _validated_holidays(holidays: Iterable[date]) -> frozenset[date]:
    days = frozenset(holidays)
    for day in days:
        # A datetime is a date, but never equal to one: it would silently match no day.
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"holidays must be local dates (got {type(day).__name__} {day!r})")
    return days


def _format_wall(wall: time) -> str:
    if wall.second or wall.microsecond:
        return wall.isoformat()
    return wall.strftime("%H:%M")
