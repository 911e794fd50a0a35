"""Claiming due monitors: a lease keeps a monitor with one engine until its result is in."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from careline.engine.runner import db
from careline.monitoring import scheduler
from careline.monitoring.checks import CheckResult
from careline.monitoring.models import CheckRecord, Monitor
from careline.monitoring.services.state import State
from tests.monitoring.servers import Server

pytestmark = pytest.mark.django_db


def test_a_claimed_monitor_is_not_claimed_again_until_its_lease_lapses(make_monitor: Any) -> None:
    monitor = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9})
    now = timezone.now()
    first = scheduler.claim("engine-a", now, 100)
    assert [c.id for c in first] == [monitor.pk]
    assert scheduler.claim("engine-b", now, 100) == []
    leased = Monitor.objects.get(pk=monitor.pk)
    assert leased.lease_owner == "engine-a"
    assert leased.lease_until is not None
    # Engine A died: once its lease lapses another engine takes the monitor over.
    later = leased.lease_until + timedelta(seconds=1)
    assert [c.id for c in scheduler.claim("engine-b", later, 100)] == [monitor.pk]


def test_recording_releases_the_lease_keeps_the_cadence_and_survives_a_failing_follow_up(
    make_monitor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = make_monitor(
        "EHR web", "tcp", {"host": "127.0.0.1", "port": 9}, retries=1, interval_s=60
    )
    now = timezone.now()
    (claimed,) = scheduler.claim("engine-a", now, 10)

    def broken(*args: object) -> str:
        raise RuntimeError("the service desk is being upgraded")

    monkeypatch.setattr(scheduler.incidents, "on_down", broken)
    outcome = scheduler.Outcome(
        claimed,
        CheckResult("down", 3.0, "connection refused"),
        now,
        State("down", 1, 0),
        now,
        went_down=True,
        recovered=False,
    )
    scheduler.record([outcome], now)
    monitor.refresh_from_db()
    assert monitor.status == "down"
    assert monitor.lease_owner == ""
    assert monitor.lease_until is None
    assert monitor.last_error == "connection refused"
    assert monitor.next_due_at == claimed.due_at + timedelta(seconds=claimed.interval_s)
    assert CheckRecord.objects.filter(monitor=monitor, status="down").count() == 1


def test_stopping_gives_back_the_monitors_whose_checks_were_cut_short(make_monitor: Any) -> None:
    """A check of a target that never answers is running when the engine stops: the monitor
    is released at once, not when its lease would lapse."""

    async def scenario() -> None:
        hang = await Server("hang").start()
        monitor = await db(make_monitor, "Hangs", "http", {"url": hang.url}, timeout_s=30)
        stop = asyncio.Event()
        engine = scheduler.Scheduler(owner="engine-a", concurrency=5)
        task = asyncio.create_task(engine.run(stop))
        while hang.hits == 0:
            await asyncio.sleep(0.05)
        held = await db(lambda: Monitor.objects.get(pk=monitor.pk).lease_owner)
        assert held == "engine-a"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hang.stop()

    async_to_sync(scenario)()
    monitor = Monitor.objects.get(name="Hangs")
    assert monitor.lease_owner == ""
    assert monitor.lease_until is None
    assert not CheckRecord.objects.filter(monitor=monitor).exists()
