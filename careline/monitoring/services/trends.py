"""Trends: a value heading for its threshold opens a warning ticket before it gets there.

The forecast is a least-squares line through the values of the last `trend_window_s`
seconds, extended forward, as Prometheus' predict_linear does. When it crosses
`value_threshold` within `trend_warn_s` a warning incident is raised (once; noted while it
lasts); when the forecast no longer crosses in time, the warning is resolved.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from careline.core.links import absolute_url
from careline.monitoring.choices import IncidentSource
from careline.monitoring.models import CheckRecord, HeartbeatPing, Monitor
from careline.monitoring.services import incidents
from careline.servicedesk.choices import CareEffect, Scope

MIN_POINTS = 5
RECHECK = timedelta(minutes=1)
_last_look: dict[int, datetime] = {}


@dataclass(frozen=True)
class Forecast:
    slope_per_s: float
    value_now: float
    crossing_at: datetime | None


def predict_linear(
    points: list[tuple[datetime, float]], threshold: float, now: datetime
) -> Forecast | None:
    """Fit value = a + b*t through the points; when does the line reach the threshold?"""
    if len(points) < MIN_POINTS:
        return None
    xs = [(at - now).total_seconds() for at, _ in points]
    ys = [value for _, value in points]
    if len(set(xs)) < 2:
        return None
    slope, intercept = statistics.linear_regression(xs, ys)
    crossing = None
    if intercept >= threshold:
        crossing = now
    elif slope > 0:
        crossing = now + timedelta(seconds=(threshold - intercept) / slope)
    return Forecast(slope, intercept, crossing)


def _points(monitor: Monitor, now: datetime) -> list[tuple[datetime, float]]:
    since = now - timedelta(seconds=monitor.trend_window_s)
    source = HeartbeatPing if monitor.is_heartbeat else CheckRecord
    rows = (
        source.objects.filter(monitor=monitor, at__gte=since, value__isnull=False)
        .order_by("at")
        .values_list("at", "value")[:10_000]
    )
    return [(at, float(v)) for at, v in rows if v is not None]


def evaluate(monitor: Monitor, now: datetime | None = None) -> Forecast | None:
    """Forecast this monitor's value; raise or clear its warning accordingly."""
    now = now or timezone.now()
    if monitor.value_threshold is None:
        return None
    forecast = predict_linear(_points(monitor, now), monitor.value_threshold, now)
    if forecast is None:
        return None
    soon = forecast.crossing_at is not None and forecast.crossing_at - now <= timedelta(
        seconds=monitor.trend_warn_s
    )
    if soon:
        assert forecast.crossing_at is not None
        hours = (forecast.crossing_at - now).total_seconds() / 3600
        incidents.raise_problem(
            incidents.Problem(
                source=IncidentSource.TREND,
                title=f"{monitor.name} will reach {monitor.value_threshold:g} in {hours:.1f} h",
                description=(
                    f"The value of {monitor.name} is {forecast.value_now:.2f} and rising "
                    f"{forecast.slope_per_s * 3600:.3f} per hour; at this rate it reaches "
                    f"{monitor.value_threshold:g} at {forecast.crossing_at:%Y-%m-%d %H:%M} UTC."
                    f"\n\nMonitor: {absolute_url(f'/monitoring/{monitor.pk}/')}"
                ),
                error=f"forecast to reach {monitor.value_threshold:g} at {forecast.crossing_at:%Y-%m-%d %H:%M} UTC",
                care_effect=CareEffect.NONE,
                scope=Scope.DEPARTMENT,
                service=monitor.service,
                department=monitor.department,
                monitor=monitor,
            ),
            now,
        )
    else:
        incidents.clear_problem(
            IncidentSource.TREND, monitor=monitor, what=f"The forecast for {monitor.name}", now=now
        )
    return forecast


def consider(monitor_id: int, now: datetime) -> None:
    """Evaluate at most once a minute per monitor (each new value would be wasteful)."""
    last = _last_look.get(monitor_id)
    if last is not None and now - last < RECHECK:
        return
    _last_look[monitor_id] = now
    monitor = Monitor.objects.select_related("service", "department").get(pk=monitor_id)
    if monitor.value_threshold is not None:
        evaluate(monitor, now)
