"""Check history: rollups per minute and hour, retention, uptime and latency percentiles.

Raw results are kept CARELINE_MONITOR_RAW_DAYS (7), per-minute rollups
CARELINE_MONITOR_MINUTE_DAYS (35) and per-hour rollups CARELINE_MONITOR_HOUR_DAYS (400).
Each hour rolled up is also added to its clinical services' day sums (ServiceDay), which
uptime over long periods reads. Rollups are made continuously, a complete minute (or hour) at a time, from a mark kept in
the database, so a restart resumes where the last run stopped and uptime over any window
reads raw results for the newest part and rollups for the rest.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, Max, Q, Sum
from django.db.models.functions import TruncDate, TruncDay, TruncHour, TruncMinute, TruncMonth
from django.utils import timezone

from careline.monitoring.choices import ResultStatus
from careline.monitoring.models import CheckRecord, Monitor, Rollup, RollupMark, ServiceDay

# Results may be written a little after their time (the engine batches its writes): a
# minute is rolled up only once this much later.
SETTLE = timedelta(minutes=2)
MAX_STEPS = 240  # periods rolled up per call, so one call stays short after a long stop


def _floor(at: datetime, period_s: int) -> datetime:
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_s, tz=at.tzinfo)


def _mark(period_s: int, now: datetime) -> datetime:
    mark = RollupMark.objects.filter(period_s=period_s).first()
    if mark is not None:
        return mark.done_until
    first = CheckRecord.objects.order_by("at").values_list("at", flat=True).first()
    return _floor(first or now, period_s)


def _stretch(
    period_s: int, first_after: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The next stretch to roll up: from the mark (skipping ahead over a stretch with no
    data at all), at most MAX_STEPS periods, never past the settled present."""
    start = _mark(period_s, now)
    if first_after is not None and first_after > start:
        start = _floor(first_after, period_s)
    settled = _floor(now - SETTLE, period_s)
    return start, min(settled, start + timedelta(seconds=period_s * MAX_STEPS))


def roll_up(now: datetime | None = None) -> dict[str, int]:
    """Sum complete minutes of raw results, then complete hours of minutes."""
    now = now or timezone.now()
    made = {"minutes": 0, "hours": 0}
    mark = _mark(Rollup.MINUTE, now)
    first = CheckRecord.objects.filter(at__gte=mark).order_by("at").values_list("at", flat=True)
    start, until = _stretch(Rollup.MINUTE, first.first() or now, now)
    if until > start:
        rows = (
            CheckRecord.objects.filter(at__gte=start, at__lt=until)
            .annotate(bucket=TruncMinute("at"))
            .values("monitor_id", "bucket")
            .annotate(
                n=Count("id"),
                up=Count("id", filter=Q(status=ResultStatus.UP)),
                degraded=Count("id", filter=Q(status=ResultStatus.DEGRADED)),
                down=Count("id", filter=Q(status=ResultStatus.DOWN)),
                lat=Sum("latency_ms"),
                lat_max=Max("latency_ms"),
                value=Avg("value"),
            )
        )
        made["minutes"] = _save(Rollup.MINUTE, rows, until)
    # Hours from minutes, never past what the minutes cover.
    minute_mark = RollupMark.objects.filter(period_s=Rollup.MINUTE).first()
    if minute_mark is None:
        return made
    mark = _mark(Rollup.HOUR, now)
    first_minute = (
        Rollup.objects.filter(period_s=Rollup.MINUTE, start__gte=mark)
        .order_by("start")
        .values_list("start", flat=True)
        .first()
    )
    start, until = _stretch(Rollup.HOUR, first_minute or minute_mark.done_until, now)
    until = min(until, _floor(minute_mark.done_until, Rollup.HOUR))
    if until > start:
        hour_rows = (
            Rollup.objects.filter(period_s=Rollup.MINUTE, start__gte=start, start__lt=until)
            .annotate(bucket=TruncHour("start"))
            .values("monitor_id", "bucket")
            .annotate(
                n=Sum("checks"),
                up=Sum("up"),
                degraded=Sum("degraded"),
                down=Sum("down"),
                lat=Sum("latency_sum"),
                lat_max=Max("latency_max"),
                value=Avg("value_avg"),
            )
        )
        made["hours"] = _save(Rollup.HOUR, hour_rows, until)
    return made


def _save(period_s: int, rows: object, until: datetime) -> int:
    objs = [
        Rollup(
            monitor_id=r["monitor_id"],
            period_s=period_s,
            start=r["bucket"],
            checks=r["n"],
            up=r["up"],
            degraded=r["degraded"],
            down=r["down"],
            latency_sum=r["lat"] or 0.0,
            latency_max=r["lat_max"] or 0.0,
            value_avg=r["value"],
        )
        for r in rows  # type: ignore[attr-defined]
    ]
    with transaction.atomic():
        Rollup.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=True)
        if period_s == Rollup.HOUR:
            add_service_days(objs)
        RollupMark.objects.update_or_create(period_s=period_s, defaults={"done_until": until})
    return len(objs)


def add_service_days(hours: list[Rollup]) -> None:
    """Add hour rollups to their services' days. Called in the transaction that moves the
    hour mark past them (the history loop runs on the leader alone), so each hour counts
    once. A monitor counts at the site of its department, when it has one, as it is now."""
    if not hours:
        return
    where = {
        pk: (service_id, site_id)
        for pk, service_id, site_id in Monitor.objects.filter(service__isnull=False).values_list(
            "pk", "service_id", "department__site_id"
        )
    }
    Key = tuple[int, int | None, date]
    sums: dict[Key, list[int]] = {}
    for hour in hours:
        found = where.get(hour.monitor_id)
        if found is None:
            continue
        key: Key = (found[0], found[1], hour.start.astimezone(UTC).date())
        total = sums.setdefault(key, [0, 0])
        total[0] += hour.checks
        total[1] += hour.up + hour.degraded
    if not sums:
        return
    existing: dict[Key, ServiceDay] = {
        (d.service_id, d.site_id, d.day): d
        for d in ServiceDay.objects.select_for_update()
        .filter(day__in={k[2] for k in sums})
        .order_by()
    }
    changed, new = [], []
    for key, (checks, ok) in sums.items():
        row = existing.get(key)
        if row is None:
            new.append(
                ServiceDay(service_id=key[0], site_id=key[1], day=key[2], checks=checks, ok=ok)
            )
        else:
            row.checks += checks
            row.ok += ok
            changed.append(row)
    ServiceDay.objects.bulk_update(changed, ["checks", "ok"], batch_size=500)
    ServiceDay.objects.bulk_create(new, batch_size=500)


def sum_hours_into_days(
    monitor_model: type[Monitor] = Monitor,
    rollup_model: type[Rollup] = Rollup,
    day_model: type[ServiceDay] = ServiceDay,
) -> int:
    """Build the service day sums afresh from every hour rollup (UTC days); how many.

    For the migration that added them (passing its historical models) and for anything that
    writes hour rollups without the history loop, such as a benchmark's seed."""
    where = {
        pk: (service_id, site_id)
        for pk, service_id, site_id in monitor_model.objects.filter(
            service__isnull=False
        ).values_list("pk", "service_id", "department__site_id")
    }
    sums: dict[tuple[int, int | None, date], list[int]] = {}
    rows = (
        rollup_model.objects.filter(period_s=Rollup.HOUR)
        .annotate(day=TruncDate("start", tzinfo=UTC))
        .values("monitor_id", "day")
        .annotate(n=Sum("checks"), ok=Sum("up") + Sum("degraded"))
        .order_by()
    )
    for row in rows.iterator(chunk_size=5000):
        found = where.get(row["monitor_id"])
        if found is None:
            continue
        total = sums.setdefault((found[0], found[1], row["day"]), [0, 0])
        total[0] += row["n"] or 0
        total[1] += row["ok"] or 0
    with transaction.atomic():
        day_model.objects.all().delete()
        day_model.objects.bulk_create(
            [
                day_model(service_id=service, site_id=site, day=day, checks=n, ok=ok)
                for (service, site, day), (n, ok) in sums.items()
            ],
            batch_size=1000,
        )
    return len(sums)


def service_uptime(start: datetime, end: datetime, site_id: int | None = None) -> dict[int, Uptime]:
    """Checks and working checks per clinical service id over [start, end), from the hour
    rollups (the current hour is not rolled up yet): whole UTC days from the services' day
    sums, the hours before the first and after the last whole day from the hour rollups."""
    first_day = _floor(start + timedelta(seconds=86399), 86400)
    last_day = _floor(end, 86400)
    sums: dict[int, list[int]] = {}

    def add(service_id: int | None, checks: int | None, ok: int | None) -> None:
        if service_id is not None:
            total = sums.setdefault(service_id, [0, 0])
            total[0] += checks or 0
            total[1] += ok or 0

    edges = [(start, end)]
    if first_day < last_day:
        days = ServiceDay.objects.filter(day__gte=first_day.date(), day__lt=last_day.date())
        if site_id is not None:
            days = days.filter(site_id=site_id)
        for row in days.values("service_id").annotate(n=Sum("checks"), ok=Sum("ok")).order_by():
            add(row["service_id"], row["n"], row["ok"])
        edges = [(start, first_day), (last_day, end)]
    monitors = Monitor.objects.filter(service__isnull=False)
    if site_id is not None:
        monitors = monitors.filter(department__site_id=site_id)
    service_of = dict(monitors.values_list("pk", "service_id"))
    for since, until in edges:
        if since >= until:
            continue
        # Grouped by monitor, not by service: no join to the monitors for the hour rows.
        for monitor_id, checks, ok in (
            Rollup.objects.filter(period_s=Rollup.HOUR, start__gte=since, start__lt=until)
            .values("monitor_id")
            .annotate(n=Sum("checks"), ok=Sum("up") + Sum("degraded"))
            .order_by()
            .values_list("monitor_id", "n", "ok")
        ):
            add(service_of.get(monitor_id), checks, ok)
    return {sid: Uptime(checks=n, up=ok) for sid, (n, ok) in sums.items()}


def prune(now: datetime | None = None) -> dict[str, int]:
    """Forget what is past its retention."""
    now = now or timezone.now()
    raw, _ = CheckRecord.objects.filter(
        at__lt=now - timedelta(days=settings.MONITOR_RAW_DAYS)
    ).delete()
    minutes, _ = Rollup.objects.filter(
        period_s=Rollup.MINUTE, start__lt=now - timedelta(days=settings.MONITOR_MINUTE_DAYS)
    ).delete()
    hours, _ = Rollup.objects.filter(
        period_s=Rollup.HOUR, start__lt=now - timedelta(days=settings.MONITOR_HOUR_DAYS)
    ).delete()
    days, _ = ServiceDay.objects.filter(
        day__lt=(now - timedelta(days=settings.MONITOR_HOUR_DAYS)).date()
    ).delete()
    return {"raw": raw, "minutes": minutes, "hours": hours, "service_days": days}


@dataclass(frozen=True)
class Uptime:
    checks: int
    up: int  # up or degraded: the service worked

    @property
    def percent(self) -> float | None:
        return round(100.0 * self.up / self.checks, 3) if self.checks else None


def uptime(monitor_id: int, window: timedelta, now: datetime | None = None) -> Uptime:
    """Share of checks that found the service working over the window: raw results since
    the minute rollups' mark, rollups before it."""
    now = now or timezone.now()
    since = now - window
    mark = RollupMark.objects.filter(period_s=Rollup.MINUTE).values_list("done_until", flat=True)
    split = max(mark.first() or since, since)
    raw = CheckRecord.objects.filter(monitor_id=monitor_id, at__gte=split, at__lte=now).aggregate(
        n=Count("id"), ok=Count("id", filter=~Q(status=ResultStatus.DOWN))
    )
    rolled = Rollup.objects.filter(
        monitor_id=monitor_id, period_s=Rollup.MINUTE, start__gte=since, start__lt=split
    ).aggregate(n=Sum("checks"), ok=Sum("up") + Sum("degraded"))
    return Uptime(
        checks=(raw["n"] or 0) + (rolled["n"] or 0), up=(raw["ok"] or 0) + (rolled["ok"] or 0)
    )


def uptime_by(
    monitor_id: int, period: str, count: int, now: datetime | None = None
) -> list[dict[str, object]]:
    """Uptime per day or per month from hour rollups (the current hour not yet included)."""
    now = now or timezone.now()
    trunc = TruncDay if period == "day" else TruncMonth
    since = now - timedelta(days=count if period == "day" else 31 * count)
    rows = (
        Rollup.objects.filter(monitor_id=monitor_id, period_s=Rollup.HOUR, start__gte=since)
        .annotate(bucket=trunc("start"))
        .values("bucket")
        .annotate(n=Sum("checks"), ok=Sum("up") + Sum("degraded"))
        .order_by("bucket")
    )
    return [
        {
            "start": r["bucket"],
            "checks": r["n"],
            "uptime_percent": round(100.0 * r["ok"] / r["n"], 3) if r["n"] else None,
        }
        for r in rows
    ]


def latency_percentiles(
    monitor_id: int, window: timedelta, now: datetime | None = None
) -> dict[str, float | None]:
    now = now or timezone.now()
    values = sorted(
        CheckRecord.objects.filter(monitor_id=monitor_id, at__gte=now - window).values_list(
            "latency_ms", flat=True
        )[:100_000]
    )
    if len(values) < 2:
        only = values[0] if values else None
        return {"p50": only, "p95": only, "p99": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2)}
