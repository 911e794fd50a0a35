"""When each site's morning check and handovers fall: wall-clock times in the site's zone.

The check hour (CARELINE_MORNING_CHECK_HOUR) and the shift ends (CARELINE_HANDOVER_TIMES) are
read on each site's own clock, so Riverside in Chicago gets its check at its 07:00, an hour
after Northgate's. Wall clocks become instants with on-call's rule for daylight-saving days
(a skipped time is the first instant after the gap; a repeated one the first of the two), so
"overnight" on a changeover day is 23 or 25 hours, as the night really was.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from django.conf import settings

from careline.core.models import Site
from careline.env import ImproperSetting
from careline.oncall.services.schedules import localise

_WALL = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_wall(value: str, name: str) -> time:
    """'07:00' as a time; anything else stops start-up naming the variable."""
    found = _WALL.match(value.strip())
    if found is None:
        raise ImproperSetting(f"{name} must be HH:MM on a 24-hour clock (got {value!r})")
    return time(int(found.group(1)), int(found.group(2)))


def check_hour() -> time:
    return parse_wall(settings.MORNING_CHECK_HOUR, "CARELINE_MORNING_CHECK_HOUR")


def handover_times() -> list[time]:
    times = sorted({parse_wall(v, "CARELINE_HANDOVER_TIMES") for v in settings.HANDOVER_TIMES})
    if not times:
        raise ImproperSetting("CARELINE_HANDOVER_TIMES must name at least one time, e.g. 07:00")
    return times


def validate() -> None:
    """Read every knob once, so a typo stops start-up rather than the first check."""
    check_hour()
    handover_times()


def local_day(site: Site, at: datetime) -> date:
    return at.astimezone(site.zone).date()


def check_at(site: Site, day: date) -> datetime:
    """The instant of the site's check on a local date."""
    return localise(day, check_hour(), site.zone)


def latest_check(site: Site, now: datetime) -> tuple[date, datetime]:
    """The site's most recent check hour at or before `now`: its local date and instant."""
    today = local_day(site, now)
    at = check_at(site, today)
    if at <= now:
        return today, at
    yesterday = today - timedelta(days=1)
    return yesterday, check_at(site, yesterday)


def overnight_since(site: Site, day: date) -> datetime:
    """The start of the night a check reports on: the previous day's check hour."""
    return check_at(site, day - timedelta(days=1))


def day_bounds(site: Site, day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local date at the site: midnight to midnight on its clock."""
    zone = site.zone
    return localise(day, time(0), zone), localise(day + timedelta(days=1), time(0), zone)


def _shift_edges(site: Site, around: datetime) -> list[datetime]:
    day = local_day(site, around)
    return sorted(
        localise(day + timedelta(days=offset), wall, site.zone)
        for offset in (-1, 0, 1, 2)
        for wall in handover_times()
    )


def shift_holding(site: Site, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the shift `at` falls in."""
    edges = _shift_edges(site, at)
    start = max(e for e in edges if e <= at)
    end = min(e for e in edges if e > at)
    return start, end


def next_shift(site: Site, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the shift after the one `at` falls in."""
    _, end = shift_holding(site, at)
    return shift_holding(site, end)


def latest_shift_end(site: Site, now: datetime) -> datetime:
    """The most recent handover time at or before `now`."""
    start, _ = shift_holding(site, now)
    return start
