"""Planned work on the status page: approved changes, planned downtime and maintenance windows
over the next CARELINE_STATUS_AHEAD_DAYS days, each piece of work once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from careline.changes.services import changes, lifecycle
from careline.continuity.models import DowntimeEvent
from careline.continuity.services import downtime
from careline.monitoring.models import MaintenanceWindow
from careline.reports.status.schedule import scheduled_work
from tests.conftest import Hospital
from tests.reports.status_setup import T0, monitor, service, window

pytestmark = pytest.mark.django_db

START = T0 + timedelta(days=2, hours=-7)  # Thursday 02:00 UTC
END = START + timedelta(hours=2)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(T0, tick=False):
        yield


def approved_change(hospital: Hospital, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "kind": "normal",
        "title": "Upgrade the EHR database",
        "services": ["EHR"],
        "clinical_impact": "blocked",
        "complexity": "medium",
        "tested": True,
        "out_of_hours": True,
        "implementation_plan": "Fail over, upgrade, fail back.",
        "backout_plan": "Restore the snapshot.",
        "planned_start": START,
        "planned_end": END,
        **fields,
    }
    change = changes.create_change(hospital.agent, data)
    lifecycle.submit(hospital.agent, change.pk)
    return lifecycle.approve(hospital.manager, change.pk, "Go ahead")


def test_a_change_with_its_window_and_downtime_is_listed_once(hospital: Hospital) -> None:
    change = approved_change(hospital, service_unavailable=True)
    event = DowntimeEvent.objects.get(source=change.number)
    assert MaintenanceWindow.objects.filter(pk=change.maintenance_window_id).exists()
    work = scheduled_work()
    assert len(work) == 1
    entry = work[0]
    assert (entry.kind, entry.title, entry.change) == ("change", change.title, change.number)
    assert (entry.starts_at, entry.ends_at) == (START, END)
    assert entry.downtime == event.reference
    assert entry.window_id == change.maintenance_window_id
    assert entry.service_unavailable
    assert [s.code for s in entry.services] == ["EHR"]
    assert not entry.in_progress(T0)
    # The page and the JSON say it once too.
    nurse = Client()
    nurse.force_login(hospital.nurse)
    page = nurse.get("/status/").content.decode()
    assert page.count(change.title) == 1
    assert f"Change {change.number} · planned downtime {event.reference}" in page
    assert "unavailable throughout: downtime procedures apply" in page
    (listed,) = nurse.get("/api/v1/status").json()["scheduled"]
    assert (listed["kind"], listed["change"], listed["downtime"]) == (
        "change",
        change.number,
        event.reference,
    )
    assert (listed["in_progress"], listed["service_unavailable"]) == (False, True)


def test_a_change_that_keeps_its_service_up_brings_its_window_only(hospital: Hospital) -> None:
    change = approved_change(hospital, title="Add an EHR log volume")
    work = scheduled_work()
    assert [(w.kind, w.change, w.downtime, w.service_unavailable) for w in work] == [
        ("change", change.number, "", False)
    ]
    # A draft or a rejected change is not going ahead.
    changes.create_change(
        hospital.agent,
        {
            "kind": "normal",
            "title": "Idea",
            "services": ["PRINT"],
            "planned_start": START,
            "planned_end": END,
        },
    )
    assert len(scheduled_work()) == 1


def test_windows_and_planned_downtime_of_their_own(hospital: Hospital) -> None:
    service("PACS", "Picture archiving", tier=1)
    archive = monitor("PACS archive", "up", "PACS")
    orphan = monitor("Lab fridge probe", "up", None)
    window("PACS archive firmware", START, END, monitors=[archive.pk])
    window("Probe swap", START, END, monitors=[orphan.pk])  # touches no clinical service
    monitor("Print router", "up", "PRINT", tags=["core-switch"])
    monitor("Untagged", "up", "EHR")
    later = START + timedelta(hours=3)
    window("Core switch firmware", later, later + timedelta(hours=1), tags=["core-switch"])
    event = downtime.declare(
        hospital.agent,
        downtime.DowntimeDraft(
            title="Printing moves to the new print servers",
            kind="planned",
            services=["PRINT"],
            starts_at=START + timedelta(days=1),
            ends_at=END + timedelta(days=1),
        ),
    )
    work = scheduled_work()
    assert [(w.kind, w.title) for w in work] == [
        ("maintenance", "PACS archive firmware"),
        ("maintenance", "Core switch firmware"),
        ("downtime", "Printing moves to the new print servers"),
    ]
    assert [s.code for s in work[0].services] == ["PACS"]
    # A tag reaches the services of the monitors carrying it.
    assert [s.code for s in work[1].services] == ["PRINT"]
    assert (work[2].downtime, work[2].service_unavailable) == (event.reference, True)


def test_only_the_days_ahead_are_listed(hospital: Hospital, settings: Any) -> None:
    """A daily window over a week, a window in progress, and work beyond the horizon."""
    window(
        "Nightly EHR reindex",
        T0 - timedelta(days=30),
        None,
        recurrence="0 3 * * *",
        duration_minutes=30,
        services=["EHR"],
    )
    window("Printer firmware", T0 - timedelta(hours=1), T0 + timedelta(hours=1), services=["PRINT"])
    window("Far away", T0 + timedelta(days=20), T0 + timedelta(days=21), services=["PRINT"])
    work = scheduled_work()
    nightly = [w for w in work if w.title == "Nightly EHR reindex"]
    assert len(nightly) == 7  # 03:00 on each of the next seven days
    assert all(T0 < w.starts_at < T0 + timedelta(days=7) for w in nightly)
    assert work[0].title == "Printer firmware"
    assert work[0].in_progress(T0)
    assert "Far away" not in {w.title for w in work}
    settings.STATUS_AHEAD_DAYS = 2
    assert len([w for w in scheduled_work() if w.title == "Nightly EHR reindex"]) == 2
    assert len(scheduled_work(days=30)) == 1 + 30 + 1
