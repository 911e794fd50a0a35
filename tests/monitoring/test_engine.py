"""The monitor scheduler against real servers the tests start and stop, on real clocks.

Each test runs the engine's scheduler in this thread's event loop (database work comes back
to this thread, inside the test's transaction) with 1-second intervals.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from careline.engine.runner import db
from careline.monitoring.choices import MonitorStatus
from careline.monitoring.models import CheckRecord, Monitor, MonitorIncident
from careline.monitoring.scheduler import Scheduler
from careline.monitoring.services import maintenance
from careline.servicedesk.models import Comment, Ticket
from tests.monitoring.servers import Server

pytestmark = pytest.mark.django_db


async def run_until(what: str, condition: Callable[[], Any], timeout: float = 10.0) -> Scheduler:
    """Run a scheduler until `condition` (read from the database) holds."""
    stop = asyncio.Event()
    scheduler = Scheduler(owner="test", concurrency=50)
    task = asyncio.create_task(scheduler.run(stop))
    deadline = time.monotonic() + timeout
    try:
        while not await db(condition):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            if task.done():
                task.result()
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
    return scheduler


def status_of(monitor: Monitor) -> str:
    return Monitor.objects.values_list("status", flat=True).get(pk=monitor.pk)


def open_incident(monitor: Monitor) -> MonitorIncident | None:
    return MonitorIncident.objects.filter(monitor=monitor, resolved_at__isnull=True).first()


def test_target_stopped_opens_one_incident_notes_it_and_recovery_resolves_it(
    make_monitor: Any, api_as: Any, hospital: Any
) -> None:
    """up -> (server stopped) down after 2 failures -> incident P1 -> (restarted) resolved."""

    async def scenario() -> None:
        server = await Server("http").start()
        monitor = await db(make_monitor, "EHR web", "http", {"url": server.url}, retries=2)
        await run_until("up", lambda: status_of(monitor) == MonitorStatus.UP)
        await server.stop()
        await run_until("incident", lambda: open_incident(monitor) is not None)
        assert await db(status_of, monitor) == MonitorStatus.DOWN
        await server.start()
        await run_until("recovery", lambda: status_of(monitor) == MonitorStatus.UP)
        await server.stop()

    async_to_sync(scenario)()
    monitor = Monitor.objects.get(name="EHR web")
    incident = MonitorIncident.objects.get(monitor=monitor)
    ticket = incident.ticket
    assert incident.resolved_at is not None
    assert ticket.kind == "incident"
    assert ticket.status == "resolved"
    # Blocked care, enterprise-wide, on the tier-1 EHR: the desk's triage says P1.
    assert ticket.priority == "P1"
    assert ticket.service is not None
    assert ticket.service.code == "EHR"
    assert "outage of" in ticket.resolution_notes
    assert ticket.requester.username == "careline-monitor"
    failures = CheckRecord.objects.filter(monitor=monitor, status="down")
    assert failures.count() >= 2
    # The desk finds the monitor's tickets.
    found = api_as(hospital.agent).get("/tickets", monitor=monitor.pk).json()
    assert [t["number"] for t in found["items"]] == [ticket.number]
    assert api_as(hospital.agent).get("/tickets", monitor=monitor.pk + 999).json()["count"] == 0


@pytest.mark.timing
def test_hanging_target_does_not_delay_others_and_bad_config_is_a_recorded_error(
    make_monitor: Any,
) -> None:
    """A target that accepts and never answers times out; a fast one keeps its cadence."""

    async def scenario() -> None:
        hang = await Server("hang").start()
        fast = await Server("http").start()
        slow = await db(make_monitor, "Hangs", "http", {"url": hang.url}, timeout_s=0.8)
        quick = await db(make_monitor, "Quick", "http", {"url": fast.url})
        broken = await db(make_monitor, "Broken", "tcp", {"host": "127.0.0.1", "port": 1})
        # A stored config this version refuses (written behind the service's back).
        await db(lambda: Monitor.objects.filter(pk=broken.pk).update(config={"port": "x"}))
        started = time.monotonic()
        await run_until(
            "three quick checks",
            lambda: CheckRecord.objects.filter(monitor=quick).count() >= 3,
        )
        elapsed = time.monotonic() - started
        assert elapsed < 4.5, elapsed
        assert await db(lambda: CheckRecord.objects.filter(monitor=slow).exists())
        await hang.stop()
        await fast.stop()

    async_to_sync(scenario)()
    slow_result = CheckRecord.objects.filter(monitor__name="Hangs").first()
    assert slow_result is not None
    assert slow_result.status == "down"
    assert slow_result.latency_ms < 2000
    broken = CheckRecord.objects.filter(monitor__name="Broken").first()
    assert broken is not None
    assert broken.status == "down"
    assert "configuration cannot be used" in broken.error
    assert all(r.status == "up" for r in CheckRecord.objects.filter(monitor__name="Quick"))


def test_parent_and_child_failing_together_blame_the_parent_whatever_the_order(
    make_monitor: Any,
) -> None:
    """The child fails first (it is due first and needs fewer failures), yet the re-check
    of its parent puts the incident on the parent; the child shows suppressed_by."""

    async def scenario() -> None:
        db_server = await Server("http").start()
        web_server = await Server("http").start()
        parent = await db(
            make_monitor,
            "EHR database",
            "tcp",
            {"host": "127.0.0.1", "port": db_server.port},
            retries=3,
        )
        child = await db(
            make_monitor,
            "EHR web",
            "http",
            {"url": web_server.url},
            retries=1,
            depends_on=[parent.pk],
        )
        await run_until("both up", lambda: status_of(parent) == status_of(child) == "up")
        await db_server.stop()
        await web_server.stop()
        await run_until(
            "parent incident",
            lambda: open_incident(parent) is not None and status_of(child) == "down",
        )
        await run_until("two more child checks", lambda: _down_count(child) >= 3)

    async_to_sync(scenario)()
    child = Monitor.objects.get(name="EHR web")
    assert open_incident(child) is None
    assert MonitorIncident.objects.filter(monitor=child).count() == 0
    assert MonitorIncident.objects.filter(monitor__name="EHR database").count() == 1


def _down_count(monitor: Monitor) -> int:
    return CheckRecord.objects.filter(monitor=monitor, status="down").count()


def test_maintenance_window_runs_checks_but_opens_nothing(make_monitor: Any) -> None:
    async def scenario() -> None:
        monitor = await db(
            make_monitor,
            "Lab HL7",
            "tcp",
            {"host": "127.0.0.1", "port": 9},
            retries=1,
            tags=["lab"],
        )
        await db(
            maintenance.create_window,
            None,
            name="Lab upgrade",
            starts_at=timezone.now() - timezone.timedelta(minutes=1),
            ends_at=timezone.now() + timezone.timedelta(hours=1),
            tags=["lab"],
        )
        await run_until("three failures", lambda: _down_count(monitor) >= 3)

    async_to_sync(scenario)()
    monitor = Monitor.objects.get(name="Lab HL7")
    assert monitor.status == "down"
    assert not MonitorIncident.objects.exists()


def test_flapping_within_ten_minutes_reopens_the_same_incident(make_monitor: Any) -> None:
    async def scenario() -> None:
        server = await Server("http").start()
        monitor = await db(make_monitor, "PACS web", "http", {"url": server.url}, retries=1)
        await run_until("up", lambda: status_of(monitor) == "up")
        await server.stop()
        await run_until("incident", lambda: open_incident(monitor) is not None)
        await server.start()
        await run_until("resolved", lambda: status_of(monitor) == "up")
        await server.stop()
        await run_until("reopened", lambda: open_incident(monitor) is not None)
        await server.start()
        await run_until("up again", lambda: status_of(monitor) == "up")
        await server.stop()

    async_to_sync(scenario)()
    incidents = list(MonitorIncident.objects.filter(monitor__name="PACS web"))
    assert len(incidents) == 1
    assert incidents[0].reopened_count == 1
    ticket = Ticket.objects.get(pk=incidents[0].ticket_id)
    assert ticket.reopened_count == 1
    assert ticket.status == "resolved"
    notes = Comment.objects.filter(ticket=ticket, public=False)
    assert any("Failing again" in n.body for n in notes)
