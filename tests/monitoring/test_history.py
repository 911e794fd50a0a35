"""History: rollups, retention, uptime, latency percentiles; trends; the state machine."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from careline.monitoring.models import (
    CheckRecord,
    HeartbeatPing,
    Monitor,
    MonitorIncident,
    Rollup,
    ServiceDay,
)
from careline.monitoring.services import history, monitors, trends
from careline.monitoring.services.state import State, advance
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.get_fixed_timezone(0))


def results(monitor: Monitor, start: datetime, statuses: str, every_s: int = 30) -> None:
    """One result per `every_s` seconds from `start`: u = up, d = down, g = degraded."""
    names = {"u": "up", "d": "down", "g": "degraded"}
    CheckRecord.objects.bulk_create(
        CheckRecord(
            monitor=monitor,
            at=start + timedelta(seconds=i * every_s),
            status=names[s],
            latency_ms=10.0 + i,
            error="" if s != "d" else "refused",
        )
        for i, s in enumerate(statuses)
    )


def test_rollups_keep_uptime_after_raw_results_are_pruned(make_monitor: Any) -> None:
    monitor = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9})
    eight_days_ago = NOW - timedelta(days=8)
    results(monitor, eight_days_ago, "uuuuuuuudd")  # 8 of 10 working, 5 minutes
    results(monitor, NOW - timedelta(hours=2), "uuug")  # all working (degraded counts)
    with time_machine.travel(NOW, tick=False):
        for _ in range(20):  # resumable, a bounded stretch per call, empty days skipped
            history.roll_up(NOW)
        minute_rows = Rollup.objects.filter(monitor=monitor, period_s=60)
        assert sum(r.checks for r in minute_rows) == 14
        assert Rollup.objects.filter(monitor=monitor, period_s=3600).count() == 2
        gone = history.prune(NOW)
        assert gone["raw"] == 10
        assert CheckRecord.objects.filter(monitor=monitor).count() == 4
        assert history.uptime(monitor.pk, timedelta(hours=24), NOW).percent == 100.0
        month = history.uptime(monitor.pk, timedelta(days=30), NOW)
        assert (month.checks, month.up) == (14, 12)
        days = history.uptime_by(monitor.pk, "day", 30, NOW)
        assert [d["uptime_percent"] for d in days] == [80.0, 100.0]


def test_retention_is_configurable(make_monitor: Any, settings: Any) -> None:
    settings.MONITOR_RAW_DAYS = 1
    monitor = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9})
    results(monitor, NOW - timedelta(days=2), "uu")
    results(monitor, NOW - timedelta(hours=2), "uu")
    assert history.prune(NOW)["raw"] == 2


def test_latency_percentiles(make_monitor: Any) -> None:
    monitor = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9})
    results(monitor, NOW - timedelta(hours=1), "u" * 100, every_s=10)  # 10 .. 109 ms
    figures = history.latency_percentiles(monitor.pk, timedelta(hours=24), NOW)
    assert figures["p50"] == pytest.approx(59.5)
    assert figures["p99"] == pytest.approx(108.01)


def test_predict_linear_matches_a_straight_line() -> None:
    points = [(NOW - timedelta(hours=h), 50.0 + 10 * (6 - h)) for h in range(6, -1, -1)]
    forecast = trends.predict_linear(points, 90.0, NOW)
    assert forecast is not None
    assert forecast.value_now == pytest.approx(110.0)  # already past: crossing is now
    assert forecast.crossing_at == NOW
    rising = [(NOW - timedelta(hours=h), 80.0 - h) for h in range(6, -1, -1)]
    ahead = trends.predict_linear(rising, 90.0, NOW)
    assert ahead is not None
    assert ahead.crossing_at == NOW + timedelta(hours=10)
    assert trends.predict_linear(rising[:3], 90.0, NOW) is None  # too few points


def test_value_heading_for_threshold_opens_a_warning_then_clears(
    make_monitor: Any, hospital: Hospital
) -> None:
    monitor = make_monitor(
        "Backup disk", "tcp", {"host": "127.0.0.1", "port": 9}, value_threshold=90.0
    )
    Monitor.objects.filter(pk=monitor.pk).update(trend_warn_s=24 * 3600)
    monitor.refresh_from_db()
    now = timezone.now()
    CheckRecord.objects.bulk_create(
        CheckRecord(
            monitor=monitor, at=now - timedelta(hours=h), status="up", latency_ms=1, value=80.0 - h
        )
        for h in range(6)
    )
    forecast = trends.evaluate(monitor, now)
    assert forecast is not None
    assert forecast.crossing_at is not None
    warning = MonitorIncident.objects.get(monitor=monitor, source="trend")
    assert "will reach 90" in warning.ticket.title
    assert warning.ticket.care_effect == "none"
    # The value falls back: the forecast no longer crosses, the warning is resolved.
    CheckRecord.objects.filter(monitor=monitor).delete()
    CheckRecord.objects.bulk_create(
        CheckRecord(
            monitor=monitor, at=now - timedelta(hours=h), status="up", latency_ms=1, value=40.0 + h
        )
        for h in range(6)
    )
    trends.evaluate(monitor, now)
    warning.refresh_from_db()
    assert warning.resolved_at is not None


@pytest.mark.parametrize(
    ("start", "results_seen", "retries", "recover", "end"),
    [
        ("up", "d", 2, 1, "up"),
        ("up", "dd", 2, 1, "down"),
        ("up", "dud", 2, 1, "up"),  # not consecutive
        ("unknown", "d", 1, 1, "down"),
        ("down", "u", 2, 2, "down"),  # one success is not enough to recover
        ("down", "uu", 2, 2, "up"),
        ("down", "g", 2, 1, "degraded"),
        ("up", "g", 2, 1, "degraded"),
    ],
)
def test_state_machine(start: str, results_seen: str, retries: int, recover: int, end: str) -> None:
    names = {"u": "up", "d": "down", "g": "degraded"}
    state = State(start, 0, 0)
    for r in results_seen:
        state = advance(state, names[r], retries=retries, recover_after=recover).state
    assert state.status == end


def test_state_machine_reports_the_edges() -> None:
    down = advance(State("up", 1, 0), "down", retries=2, recover_after=1)
    assert down.went_down
    assert not advance(down.state, "down", retries=2, recover_after=1).went_down
    assert advance(down.state, "up", retries=2, recover_after=1).recovered


def test_disk_use_pushed_by_heartbeat_warns_before_it_fills(hospital: Hospital) -> None:
    """A backup job reports its disk use with each ping; rising 2 % an hour from 70 %,
    it reaches 90 % in ten hours: inside the day's warning time."""
    backup = monitors.create_monitor(
        None,
        {
            "name": "Backup disk",
            "kind": "heartbeat",
            "config": {"period_s": 3600, "grace_s": 600},
            "service": "EHR",
            "value_threshold": 90,
        },
    )
    now = timezone.now()
    HeartbeatPing.objects.bulk_create(
        HeartbeatPing(monitor=backup, at=now - timedelta(hours=h), kind="ping", value=70.0 - 2 * h)
        for h in range(6)
    )
    forecast = trends.evaluate(backup, now)
    assert forecast is not None
    assert forecast.crossing_at is not None
    assert abs((forecast.crossing_at - now) - timedelta(hours=10)) < timedelta(minutes=1)
    warning = MonitorIncident.objects.get(monitor=backup, source="trend")
    assert warning.ticket.title == "Backup disk will reach 90 in 10.0 h"


def test_service_days_sum_the_hours_once_and_long_periods_read_them(
    make_monitor: Any, settings: Any
) -> None:
    monitor = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9})
    results(monitor, NOW - timedelta(days=8), "uuuuuuuudd")
    results(monitor, NOW - timedelta(hours=30), "ddgu")
    results(monitor, NOW - timedelta(hours=2), "uuug")
    with time_machine.travel(NOW, tick=False):
        for _ in range(20):
            history.roll_up(NOW)
        hours = Rollup.objects.filter(period_s=Rollup.HOUR)
        days = ServiceDay.objects.all()
        assert sum(d.checks for d in days) == sum(h.checks for h in hours) == 18
        assert sum(d.ok for d in days) == sum(h.up + h.degraded for h in hours) == 14
        assert {d.day for d in days} == {
            (NOW - timedelta(days=8)).date(),
            (NOW - timedelta(hours=30)).date(),
            (NOW - timedelta(hours=2)).date(),
        }
        # Rolling up again (nothing new) counts nothing twice.
        history.roll_up(NOW)
        assert sum(d.checks for d in ServiceDay.objects.all()) == 18
        # Built afresh from the hours (as the migration that added them did): the same rows.
        kept = set(ServiceDay.objects.values_list("service_id", "site_id", "day", "checks", "ok"))
        assert history.sum_hours_into_days() == 3
        assert (
            set(ServiceDay.objects.values_list("service_id", "site_id", "day", "checks", "ok"))
            == kept
        )

        # A period starting and ending mid-day: whole days from the day sums, the edges
        # from the hours; the same figure as the hours alone give.
        service_id = monitor.service_id
        assert service_id is not None
        for start, end in [
            (NOW - timedelta(days=9, hours=7), NOW + timedelta(hours=3)),
            (NOW - timedelta(hours=31), NOW - timedelta(hours=29)),  # inside one day
            (NOW - timedelta(hours=29), NOW),  # the 30-hours-ago results left out
        ]:
            direct = hours.filter(start__gte=start, start__lt=end)
            expected = history.Uptime(
                checks=sum(h.checks for h in direct), up=sum(h.up + h.degraded for h in direct)
            )
            assert history.service_uptime(start, end).get(service_id) == (
                expected if expected.checks else None
            )

        settings.MONITOR_HOUR_DAYS = 2
        assert history.prune(NOW)["service_days"] == 1
