"""SLA clock arithmetic: 24/7 and business-hours targets, holidays, daylight-saving changes.

No database and no clock: every function takes the instants it works on. The dates are in
2026; the clocks change on 2026-03-08 and 2026-11-01 in New York, and on 2026-03-29 and
2026-10-25 in London.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from careline.servicedesk.calendar import (
    BusinessHours,
    Calendar,
    add_business_minutes,
    business_minutes_between,
    is_open,
    next_opening,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")

# Northgate's service desk: Monday to Friday, 08:00-18:00, New York time.
NORTHGATE = BusinessHours.standard("America/New_York")
# The records office closes for lunch.
RECORDS = BusinessHours(
    "America/New_York",
    {day: [(time(8), time(12)), (time(13), time(17))] for day in range(5)},
)


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def nights(time_zone: str) -> BusinessHours:
    """Overnight cover, 00:00-06:00 every day: the hours the clocks change in."""
    return BusinessHours(time_zone, {day: [(time(0), time(6))] for day in range(7)})


def business_minutes_on(day: date, calendar: BusinessHours) -> float:
    zone = calendar.zone
    midnight = datetime.combine(day, time(), tzinfo=zone)
    next_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return business_minutes_between(midnight, next_midnight, calendar)


# --- 24/7 ------------------------------------------------------------------------------------


def test_a_24_7_target_is_plain_elapsed_time_even_when_the_clocks_go_forward() -> None:
    raised = at(NEW_YORK, 2026, 3, 8, 1, 50)

    due = add_business_minutes(raised, 15, None)

    assert due.astimezone(NEW_YORK) == at(NEW_YORK, 2026, 3, 8, 3, 5)
    assert due - raised == timedelta(minutes=15)
    assert due.tzinfo is UTC
    assert business_minutes_between(raised, due, None) == 15


def test_a_24_7_target_runs_through_the_extra_hour_when_the_clocks_go_back() -> None:
    raised = at(NEW_YORK, 2026, 11, 1, 0, 30)
    due = add_business_minutes(raised, 120, None)
    # 120 real minutes: 00:30 EDT, the first 01:30, then 01:30 again in EST.
    assert due == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert due.astimezone(NEW_YORK).strftime("%H:%M %Z") == "01:30 EST"


def test_a_24_7_clock_is_always_open() -> None:
    assert is_open(at(NEW_YORK, 2026, 12, 25, 3, 0), None)
    assert add_business_minutes(at(LONDON, 2026, 1, 10, 23, 0), 0, None) == at(
        LONDON, 2026, 1, 10, 23, 0
    )


# --- business hours --------------------------------------------------------------------------


def test_a_p3_raised_friday_at_five_with_four_business_hours_is_due_monday_at_eleven() -> None:
    friday_5pm = at(NEW_YORK, 2026, 1, 9, 17, 0)

    due = add_business_minutes(friday_5pm, 4 * 60, NORTHGATE)

    assert due.astimezone(NEW_YORK) == at(NEW_YORK, 2026, 1, 12, 11, 0)
    assert business_minutes_between(friday_5pm, due, NORTHGATE) == 240


def test_a_ticket_raised_on_saturday_starts_its_clock_monday_at_eight() -> None:
    saturday = at(NEW_YORK, 2026, 1, 10, 10, 30)
    monday_8am = at(NEW_YORK, 2026, 1, 12, 8, 0)

    assert not is_open(saturday, NORTHGATE)
    assert next_opening(saturday, NORTHGATE) == monday_8am
    assert add_business_minutes(saturday, 0, NORTHGATE) == monday_8am
    assert add_business_minutes(saturday, 60, NORTHGATE) == monday_8am + timedelta(hours=1)


def test_zero_minutes_from_inside_business_hours_is_the_start_itself() -> None:
    tuesday = at(NEW_YORK, 2026, 1, 13, 9, 15)
    assert is_open(tuesday, NORTHGATE)
    assert add_business_minutes(tuesday, 0, NORTHGATE) == tuesday
    assert next_opening(tuesday, NORTHGATE) == tuesday


def test_the_clock_stops_at_closing_time_and_a_target_used_up_then_is_due_at_the_close() -> None:
    friday_4pm = at(NEW_YORK, 2026, 1, 9, 16, 0)
    friday_6pm = at(NEW_YORK, 2026, 1, 9, 18, 0)

    assert add_business_minutes(friday_4pm, 120, NORTHGATE) == friday_6pm
    assert not is_open(friday_6pm, NORTHGATE)  # intervals are [start, end)
    assert add_business_minutes(friday_4pm, 121, NORTHGATE) == at(NEW_YORK, 2026, 1, 12, 8, 1)


def test_a_holiday_is_skipped() -> None:
    desk = BusinessHours.standard("America/New_York", holidays=[date(2026, 12, 25)])
    christmas_eve_5pm = at(NEW_YORK, 2026, 12, 24, 17, 0)  # a Thursday

    due = add_business_minutes(christmas_eve_5pm, 4 * 60, desk)

    assert due == at(NEW_YORK, 2026, 12, 28, 11, 0)  # the Monday after
    assert not is_open(at(NEW_YORK, 2026, 12, 25, 10, 0), desk)
    assert next_opening(christmas_eve_5pm + timedelta(hours=1), desk) == at(
        NEW_YORK, 2026, 12, 28, 8, 0
    )


def test_a_lunch_break_stops_the_clock() -> None:
    assert add_business_minutes(at(NEW_YORK, 2026, 1, 13, 11, 30), 60, RECORDS) == at(
        NEW_YORK, 2026, 1, 13, 13, 30
    )
    assert not is_open(at(NEW_YORK, 2026, 1, 13, 12, 15), RECORDS)
    assert next_opening(at(NEW_YORK, 2026, 1, 13, 12, 15), RECORDS) == at(
        NEW_YORK, 2026, 1, 13, 13, 0
    )
    assert business_minutes_on(date(2026, 1, 13), RECORDS) == 8 * 60
    # 16:30 Friday: 30 minutes left that day, then Monday morning.
    assert add_business_minutes(at(NEW_YORK, 2026, 1, 16, 16, 30), 90, RECORDS) == at(
        NEW_YORK, 2026, 1, 19, 9, 0
    )


def test_intervals_that_touch_make_one_continuous_stretch() -> None:
    split_shift = BusinessHours("Europe/London", {0: [(time(8), time(12)), (time(12), time(16))]})
    monday_11am = at(LONDON, 2026, 1, 12, 11, 0)
    assert is_open(at(LONDON, 2026, 1, 12, 12, 0), split_shift)
    assert add_business_minutes(monday_11am, 120, split_shift) == at(LONDON, 2026, 1, 12, 13, 0)


def test_a_span_covering_a_weekend_counts_only_business_time() -> None:
    friday_4pm = at(NEW_YORK, 2026, 1, 9, 16, 0)
    monday_10am = at(NEW_YORK, 2026, 1, 12, 10, 0)

    assert business_minutes_between(friday_4pm, monday_10am, NORTHGATE) == 4 * 60
    assert business_minutes_between(monday_10am, friday_4pm, NORTHGATE) == 0
    assert business_minutes_between(friday_4pm, friday_4pm, NORTHGATE) == 0


def test_a_two_week_span_counts_ten_business_days() -> None:
    start = at(NEW_YORK, 2026, 1, 5, 0, 0)  # a Monday
    assert business_minutes_between(start, start + timedelta(days=14), NORTHGATE) == 10 * 600


def test_any_time_zone_may_be_used_for_the_start_and_the_result_is_in_utc() -> None:
    friday_5pm_new_york = at(NEW_YORK, 2026, 1, 9, 17, 0)
    same_instant_in_london = friday_5pm_new_york.astimezone(LONDON)

    due = add_business_minutes(same_instant_in_london, 240, NORTHGATE)

    assert due.tzinfo is UTC
    assert due == datetime(2026, 1, 12, 16, 0, tzinfo=UTC)


def test_three_business_days_use_the_longest_configured_day() -> None:
    assert NORTHGATE.day_minutes == 600
    assert RECORDS.day_minutes == 480
    short_saturday = BusinessHours(
        "Europe/London",
        {0: [(time(9), time(17))], 5: [(time(9), time(12))]},
    )
    assert short_saturday.day_minutes == 480
    raised = at(NEW_YORK, 2026, 1, 13, 9, 0)  # Tuesday
    due = add_business_minutes(raised, 3 * NORTHGATE.day_minutes, NORTHGATE)
    assert due == at(NEW_YORK, 2026, 1, 16, 9, 0)


def test_business_hours_are_immutable_hashable_and_compare_by_value() -> None:
    from_lists = BusinessHours("America/New_York", {1: [(time(8), time(18))], 0: []})
    from_tuples = BusinessHours("America/New_York", {1: ((time(8), time(18)),)})
    assert from_lists == from_tuples
    assert hash(from_lists) == hash(from_tuples)
    with pytest.raises(TypeError):
        from_lists.weekly[2] = ()  # type: ignore[index]


# --- daylight-saving changes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "day", "minutes"),
    [
        ("America/New_York", date(2026, 3, 8), 300),
        ("America/New_York", date(2026, 11, 1), 420),
        ("America/New_York", date(2026, 11, 2), 360),
        ("Europe/London", date(2026, 3, 29), 300),
        ("Europe/London", date(2026, 10, 25), 420),
        ("Europe/London", date(2026, 10, 26), 360),
    ],
)
def test_overnight_cover_lasts_as_long_as_the_real_night(
    time_zone: str, day: date, minutes: int
) -> None:
    assert business_minutes_on(day, nights(time_zone)) == minutes


def test_cover_on_the_night_the_clocks_go_back_runs_seven_real_hours() -> None:
    cover = nights("America/New_York")
    midnight = at(NEW_YORK, 2026, 11, 1, 0, 0)

    assert add_business_minutes(midnight, 420, cover) == datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    assert add_business_minutes(midnight, 420, cover).astimezone(NEW_YORK).hour == 6
    assert add_business_minutes(midnight, 421, cover) == at(NEW_YORK, 2026, 11, 2, 0, 1)
    # Both 01:30s are open; the second is an hour of real time after the first.
    first_half_past_one = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert add_business_minutes(midnight, 90, cover) == first_half_past_one
    assert add_business_minutes(midnight, 150, cover) == first_half_past_one + timedelta(hours=1)


def test_cover_on_the_night_the_clocks_go_forward_runs_five_real_hours() -> None:
    cover = nights("America/New_York")
    midnight = at(NEW_YORK, 2026, 3, 8, 0, 0)

    assert add_business_minutes(midnight, 300, cover) == datetime(2026, 3, 8, 10, 0, tzinfo=UTC)
    assert add_business_minutes(midnight, 300, cover).astimezone(NEW_YORK).hour == 6
    assert add_business_minutes(midnight, 301, cover) == at(NEW_YORK, 2026, 3, 9, 0, 1)
    # 01:50 EST plus 15 minutes is 03:05 EDT.
    assert add_business_minutes(midnight, 125, cover) == at(NEW_YORK, 2026, 3, 8, 3, 5)


def test_london_cover_across_both_changes_adds_up() -> None:
    cover = nights("Europe/London")
    saturday_11pm = at(LONDON, 2026, 3, 28, 23, 0)
    # Saturday 00:00-06:00 is already over; Sunday night is 300 minutes, Monday's starts next.
    assert add_business_minutes(saturday_11pm, 300, cover) == datetime(
        2026, 3, 29, 5, 0, tzinfo=UTC
    )
    assert add_business_minutes(saturday_11pm, 310, cover) == at(LONDON, 2026, 3, 30, 0, 10)
    saturday_night = at(LONDON, 2026, 10, 24, 23, 0)
    assert add_business_minutes(saturday_night, 420, cover) == datetime(
        2026, 10, 25, 6, 0, tzinfo=UTC
    )
    # Every night from 29 March to 25 October is 360 minutes, less the hour the clocks
    # skip on the first and plus the hour they repeat on the last.
    nights_of_summer = (date(2026, 10, 26) - date(2026, 3, 29)).days
    summer_end = at(LONDON, 2026, 10, 26, 0, 0)
    assert business_minutes_between(saturday_11pm, summer_end, cover) == (
        360 * nights_of_summer - 60 + 60
    )


def test_an_opening_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    # Opening at 02:30 on 2026-03-08 in New York: 02:30 never happens; the desk opens at
    # 03:00 EDT, the first instant after the gap.
    late = BusinessHours("America/New_York", {6: [(time(2, 30), time(4))]})
    assert next_opening(at(NEW_YORK, 2026, 3, 8, 0, 0), late) == datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )
    assert business_minutes_on(date(2026, 3, 8), late) == 60
    assert business_minutes_on(date(2026, 3, 15), late) == 90
    in_london = BusinessHours("Europe/London", {6: [(time(1, 30), time(3))]})
    assert next_opening(at(LONDON, 2026, 3, 29, 0, 0), in_london) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )
    assert business_minutes_on(date(2026, 3, 29), in_london) == 60


def test_an_interval_wholly_in_the_skipped_hour_does_not_open_that_day() -> None:
    ghost = BusinessHours("America/New_York", {6: [(time(2, 0), time(2, 45)), (time(9), time(10))]})
    sunday_midnight = at(NEW_YORK, 2026, 3, 8, 0, 0)
    assert business_minutes_on(date(2026, 3, 8), ghost) == 60
    assert next_opening(sunday_midnight, ghost) == at(NEW_YORK, 2026, 3, 8, 9, 0)


def test_an_ambiguous_time_means_its_first_occurrence() -> None:
    # 01:30 happens twice on 2026-11-01 in New York; fold=0 is the first (EDT) one.
    early = BusinessHours("America/New_York", {6: [(time(0, 30), time(1, 30))]})
    assert business_minutes_on(date(2026, 11, 1), early) == 60
    second_half_past_one = at(NEW_YORK, 2026, 11, 1, 1, 30).replace(fold=1)
    assert not is_open(second_half_past_one, early)
    assert is_open(second_half_past_one - timedelta(hours=1), early)


# --- properties ------------------------------------------------------------------------------

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute daylight-saving change
    "Asia/Kolkata",  # none at all
    "Pacific/Auckland",
]

# Hypothesis wants naive bounds, which it then places in each of the `timezones`.
starts = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, *(ZoneInfo(name) for name in ZONES)]),
)


@st.composite
def business_hours(draw: Any) -> BusinessHours:
    time_zone = draw(st.sampled_from(ZONES))
    weekdays = draw(st.sets(st.integers(0, 6), min_size=1))
    holidays = draw(st.sets(st.dates(date(2020, 1, 1), date(2031, 12, 31)), max_size=30))
    boundaries = sorted(draw(st.sets(st.integers(0, 24 * 60 - 1), min_size=2, max_size=4)))
    if len(boundaries) == 3:
        boundaries = boundaries[:2]
    walls = [time(minute // 60, minute % 60) for minute in boundaries]
    intervals = list(zip(walls[::2], walls[1::2], strict=True))
    # At least an hour a week, so 20,000 minutes stay within a few years of days.
    open_minutes = sum(
        end - start for start, end in zip(boundaries[::2], boundaries[1::2], strict=True)
    )
    assume(open_minutes * len(weekdays) >= 60)
    if len(intervals) == 1:
        (start, end) = intervals[0]
        return BusinessHours.standard(time_zone, start, end, weekdays, holidays)
    return BusinessHours(time_zone, dict.fromkeys(weekdays, intervals), frozenset(holidays))


calendars = st.one_of(st.none(), business_hours())
budgets = st.floats(min_value=0, max_value=20_000, allow_nan=False)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)


@PROPERTY_SETTINGS
@given(start=starts, minutes=budgets, calendar=calendars)
def test_the_business_minutes_between_a_start_and_its_due_time_are_the_target(
    start: datetime, minutes: float, calendar: Calendar
) -> None:
    due = add_business_minutes(start, minutes, calendar)

    assert due.tzinfo is UTC
    assert due >= start
    assert business_minutes_between(start, due, calendar) == pytest.approx(minutes, abs=1e-6)


@PROPERTY_SETTINGS
@given(start=starts, minutes=budgets, calendar=calendars)
def test_a_due_time_ends_a_stretch_of_open_time(
    start: datetime, minutes: float, calendar: Calendar
) -> None:
    due = add_business_minutes(start, minutes, calendar)

    if timedelta(minutes=minutes) == timedelta():
        # Nothing to spend: the clock's starting point, the start itself when open.
        # (Compared in UTC: under PEP 495, == across zones is always False for a local time
        # that is skipped or repeated, even when the instants match.)
        if calendar is None or is_open(start, calendar):
            assert due == start.astimezone(UTC)
        else:
            assert due == next_opening(start, calendar)
        assert is_open(due, calendar)
    else:
        # The last microsecond before the due time was business time; the due time itself
        # may be a closing time (targets used up at closing are due then).
        assert is_open(due - timedelta(microseconds=1), calendar)


@PROPERTY_SETTINGS
@given(start=starts, a=budgets, b=budgets, calendar=calendars)
def test_a_larger_target_is_never_due_earlier(
    start: datetime, a: float, b: float, calendar: Calendar
) -> None:
    smaller, larger = sorted((a, b))
    assert add_business_minutes(start, smaller, calendar) <= add_business_minutes(
        start, larger, calendar
    )


@PROPERTY_SETTINGS
@given(start=starts, a=budgets, b=budgets, calendar=calendars)
def test_business_minutes_add_up_across_a_midpoint(
    start: datetime, a: float, b: float, calendar: Calendar
) -> None:
    first, second = sorted((a, b))
    # In UTC: adding a timedelta to a local time moves the wall clock, not real time.
    start = start.astimezone(UTC)
    middle = start + timedelta(minutes=first)
    end = start + timedelta(minutes=second)
    whole = business_minutes_between(start, end, calendar)
    parts = business_minutes_between(start, middle, calendar) + business_minutes_between(
        middle, end, calendar
    )
    assert whole == pytest.approx(parts, abs=1e-6)
    assert whole <= second + 1e-6


@PROPERTY_SETTINGS
@given(start=starts, minutes=budgets, calendar=calendars)
def test_the_due_time_does_not_depend_on_the_zone_the_start_is_written_in(
    start: datetime, minutes: float, calendar: Calendar
) -> None:
    assert add_business_minutes(start, minutes, calendar) == add_business_minutes(
        start.astimezone(UTC), minutes, calendar
    )


# --- bad input -------------------------------------------------------------------------------


def test_a_naive_datetime_is_refused() -> None:
    naive = datetime(2026, 1, 9, 17, 0)  # noqa: DTZ001 - the mistake under test
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        add_business_minutes(naive, 60, NORTHGATE)
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        add_business_minutes(naive, 60, None)
    with pytest.raises(ValueError, match="end must be a timezone-aware datetime"):
        business_minutes_between(at(NEW_YORK, 2026, 1, 9, 17, 0), naive, NORTHGATE)
    with pytest.raises(ValueError, match="at must be a timezone-aware datetime"):
        is_open(naive, None)
    with pytest.raises(ValueError, match="at must be a timezone-aware datetime"):
        next_opening(naive, NORTHGATE)


@pytest.mark.parametrize("minutes", [-1, -0.001, float("nan"), float("inf")])
def test_a_negative_or_non_finite_target_is_refused(minutes: float) -> None:
    with pytest.raises(ValueError, match=r"minutes must be a finite number of at least 0"):
        add_business_minutes(at(NEW_YORK, 2026, 1, 9, 17, 0), minutes, NORTHGATE)


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        (
            {0: [(time(12), time(8))]},
            r"weekly\[0\] \(Monday\) interval 12:00-08:00 is empty or backwards",
        ),
        ({2: [(time(9), time(9))]}, r"weekly\[2\] \(Wednesday\) interval 09:00-09:00 is empty"),
        ({4: [(time(22), time(0))]}, r"cannot run past midnight"),
        (
            {1: [(time(13), time(17)), (time(8), time(12))]},
            r"weekly\[1\] \(Tuesday\) interval 08:00-12:00 is out of order",
        ),
        (
            {6: [(time(8), time(12)), (time(11), time(14))]},
            r"weekly\[6\] \(Sunday\) interval 11:00-14:00 overlaps the previous interval 08:00-12:00",
        ),
        ({7: [(time(8), time(12))]}, r"a weekday must be 0 \(Monday\) to 6 \(Sunday\) \(got 7\)"),
        ({0: [(time(8),)]}, r"an interval must be a \(start, end\) pair of times"),
        ({0: [("08:00", "12:00")]}, r"an interval must be a \(start, end\) pair of times"),
        ({0: [(time(8, tzinfo=UTC), time(12))]}, r"must be in naive wall-clock time"),
    ],
)
def test_bad_weekly_hours_are_refused_naming_the_day_and_interval(
    weekly: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessHours("America/New_York", weekly)


@pytest.mark.parametrize("weekly", [{}, {0: [], 6: ()}])
def test_a_calendar_with_no_open_days_is_refused(weekly: Any) -> None:
    with pytest.raises(ValueError, match="weekly has no business hours on any weekday"):
        BusinessHours("America/New_York", weekly)
    with pytest.raises(ValueError, match="weekly has no business hours on any weekday"):
        BusinessHours.standard("America/New_York", weekdays=[])


@pytest.mark.parametrize("time_zone", ["Mars/Olympus_Mons", "EST5EDT/Nowhere", "", "../etc/passwd"])
def test_an_unknown_time_zone_is_refused(time_zone: str) -> None:
    with pytest.raises(ValueError, match="time_zone must be an IANA time zone name"):
        BusinessHours.standard(time_zone)


def test_a_holiday_given_as_a_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="holidays must be local dates"):
        BusinessHours.standard("Europe/London", holidays=[at(LONDON, 2026, 12, 25, 0, 0)])


def test_a_calendar_closed_for_three_years_stops_the_search_instead_of_looping() -> None:
    first = date(2026, 1, 1)
    every_day = [first + timedelta(days=n) for n in range(4 * 366)]
    closed = BusinessHours.standard("America/New_York", holidays=every_day)
    raised = at(NEW_YORK, 2026, 1, 2, 9, 0)

    with pytest.raises(ValueError, match="no opening for more than 3 years"):
        add_business_minutes(raised, 60, closed)
    with pytest.raises(ValueError, match="no opening for more than 3 years"):
        next_opening(raised, closed)
    # Questions about a closed span still have answers.
    assert not is_open(raised, closed)
    assert business_minutes_between(raised, raised + timedelta(days=30), closed) == 0
