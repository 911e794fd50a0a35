"""The filters every dashboard shares: a site, and a period of whole days.

The period is read in the site's time zone (CARELINE_TIME_ZONE without a site), from the
first day's midnight to the midnight after the last day, so "1-31 January" at a hospital in
Chicago is its January, not UTC's. Bad values are refused naming the field, never ignored.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from careline.core.errors import InvalidInput
from careline.core.models import Site

PRESETS = (7, 30, 90, 365)
DEFAULT_DAYS = 30
# Hour rollups of check history are kept CARELINE_MONITOR_HOUR_DAYS (400); a longer period
# would compare a partial figure with a whole one.
MAX_DAYS = 400


@dataclass(frozen=True)
class Filters:
    site: Site | None
    since: date
    until: date  # the last day, included
    zone: zoneinfo.ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """The midnight after the last day: periods are half-open, [start, end)."""
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=self.zone)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def applied(self) -> dict[str, str]:
        """The filters in words, for the page and the printout."""
        return {
            "Site": f"{self.site.code} {self.site.name}" if self.site else "Every site",
            "Period": f"{self.since.isoformat()} to {self.until.isoformat()} ({self.days} days)",
            "Time zone": str(self.zone),
        }

    def query(self) -> dict[str, str]:
        """The filters as query parameters, for links that keep them."""
        params = {"from": self.since.isoformat(), "to": self.until.isoformat()}
        if self.site is not None:
            params["site"] = self.site.code
        return params


def _day(raw: str, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"must be a date as YYYY-MM-DD (got {raw[:30]!r})", field=field
        ) from None


def parse(params: Any) -> Filters:
    """Filters from query parameters: `site` (a code), `from` and `to` (dates, both
    included), or `days` (one of the presets, ending today). Without any: the last 30 days."""
    for name in ("site", "from", "to", "days"):
        # PostgreSQL cannot compare text holding a NUL character; no code or date has one.
        if "\x00" in (params.get(name) or ""):
            raise InvalidInput("must not contain NUL characters", field=name)
    site = None
    code = (params.get("site") or "").strip()
    if code:
        site = Site.objects.filter(code=code[:32]).first()
        if site is None:
            raise InvalidInput(f"no site has the code {code[:32]!r}", field="site")
    zone = site.zone if site is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today = timezone.localtime(timezone.now(), zone).date()
    raw_days = (params.get("days") or "").strip()
    raw_from = (params.get("from") or "").strip()
    raw_to = (params.get("to") or "").strip()
    if raw_days and (raw_from or raw_to):
        raise InvalidInput("give either days or from/to, not both", field="days")
    if raw_days:
        if raw_days not in {str(p) for p in PRESETS}:
            choices = ", ".join(str(p) for p in PRESETS)
            raise InvalidInput(f"must be one of {choices} (got {raw_days[:10]!r})", field="days")
        until = today
        since = until - timedelta(days=int(raw_days) - 1)
        return Filters(site=site, since=since, until=until, zone=zone)
    until = _day(raw_to, "to") if raw_to else today
    since = _day(raw_from, "from") if raw_from else until - timedelta(days=DEFAULT_DAYS - 1)
    if until < since:
        raise InvalidInput(f"must not be before from ({since.isoformat()})", field="to")
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidInput(f"the period must be at most {MAX_DAYS} days", field="to")
    return Filters(site=site, since=since, until=until, zone=zone)
