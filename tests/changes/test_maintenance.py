"""An approved change opens the maintenance window that silences its monitors, named by
the change's services and by the monitors of its CMDB items, and, when it takes its service
down, a planned downtime for the departments relying on it; impact comes from the CMDB.

Bad input tried: an unknown CMDB item id and an unknown service code (404 naming the field,
nothing stored); a service-unavailable change naming no service (422 on submit); cancelling
with no reason (422), twice, or once the work has started (409).

A cancelled change drops its window and its planned downtime, and the departments already
told are told it is off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from careline.changes.models import Change
from careline.changes.services import lifecycle
from careline.continuity import watch
from careline.continuity.models import DowntimeEvent
from careline.continuity.services import downtime
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.monitoring.services import incidents, maintenance
from careline.oncall.models import Notification
from tests.changes.conftest import END, START
from tests.cmdb.conftest import Cmdb, cmdb  # noqa: F401  (the CMDB fixture)
from tests.conftest import Hospital
from tests.monitoring.conftest import make_monitor  # noqa: F401  (the monitor fixture)

pytestmark = pytest.mark.django_db


def test_impact_of_the_items_comes_from_the_cmdb(
    make_change: Any,
    cmdb: Cmdb,  # noqa: F811
) -> None:
    change = make_change(services=[], items=[cmdb.ehr_db.pk])
    assert [s.code for s in change.services.all()] == ["EHR"]
    assert change.impact["care_effect"] == "blocked"
    assert {"code": "NG-ED", "name": "Emergency Department", "care_effect": "blocked"} in (
        change.impact["departments"]
    )
    assert change.impact["explanation"].startswith("EHR-DB: ")


def test_unknown_item_or_service_is_refused(make_change: Any) -> None:
    with pytest.raises(NotFound) as item:
        make_change(items=[987654])
    assert item.value.field == "items"
    with pytest.raises(NotFound) as service:
        make_change(services=["NOPE"])
    assert service.value.field == "services"
    assert Change.objects.count() == 0


def test_approved_change_silences_its_monitors_during_its_window(
    make_change: Any,
    make_monitor: Any,  # noqa: F811
    cmdb: Cmdb,  # noqa: F811
    hospital: Hospital,
) -> None:
    by_service = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9})
    by_item = make_monitor(
        "Print queue",
        "tcp",
        {"host": "127.0.0.1", "port": 9},
        service=None,
        config_item=cmdb.print_server.pk,
    )
    change = make_change(items=[cmdb.print_server.pk])
    lifecycle.submit(hospital.agent, change.pk)
    assert maintenance.window_for(by_service, START + timedelta(minutes=30)) is None
    lifecycle.approve(hospital.manager, change.pk, "ok")
    change.refresh_from_db()
    window = change.maintenance_window
    assert window is not None
    assert (window.starts_at, window.ends_at) == (START, END)
    assert window.name.startswith(change.number)
    assert sorted(s.code for s in window.services.all()) == ["EHR", "PRINT"]
    assert [m.pk for m in window.monitors.all()] == [by_item.pk]
    during = START + timedelta(minutes=30)
    assert incidents.on_down(by_service.pk, "refused", [], during) == "maintenance"
    assert incidents.on_down(by_item.pk, "refused", [], during) == "maintenance"
    assert maintenance.window_for(by_service, END + timedelta(minutes=1)) is None
    assert maintenance.window_for(by_service, START - timedelta(minutes=1)) is None


def test_a_change_taking_its_service_down_schedules_a_planned_downtime(
    make_change: Any,
    cmdb: Cmdb,  # noqa: F811
    hospital: Hospital,
) -> None:
    change = make_change(service_unavailable=True, title="EHR database upgrade")
    lifecycle.submit(hospital.agent, change.pk)
    assert not DowntimeEvent.objects.exists()
    lifecycle.approve(hospital.manager, change.pk, "ok")
    event = DowntimeEvent.objects.get()
    assert (event.kind, event.source) == ("planned", change.number)
    assert (event.starts_at, event.ends_at) == (START, END)
    assert [s.code for s in event.services.all()] == ["EHR"]
    assert {d.code for d in event.departments.all()} == {"NG-ED", "RV-W1"}
    quiet = make_change(title="Add EHR log volume")
    lifecycle.submit(hospital.agent, quiet.pk)
    lifecycle.approve(hospital.manager, quiet.pk, "ok")
    assert DowntimeEvent.objects.count() == 1


def test_service_unavailable_needs_its_service(make_change: Any, hospital: Hospital) -> None:
    change = make_change(service_unavailable=True, services=[])
    with pytest.raises(InvalidInput) as bad:
        lifecycle.submit(hospital.agent, change.pk)
    assert bad.value.field == "services"
    assert Change.objects.get(pk=change.pk).state == "draft"


def test_a_cancelled_change_drops_its_window_and_its_planned_downtime(
    make_change: Any,
    make_monitor: Any,  # noqa: F811
    cmdb: Cmdb,  # noqa: F811
    hospital: Hospital,
) -> None:
    monitor = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9})
    for person in hospital.all().values():
        person.email = f"{person.username}@hospital.example"
        person.save(update_fields=["email"])
    during = START + timedelta(minutes=30)
    with time_machine.travel(START - timedelta(days=12), tick=False) as clock:
        change = make_change(service_unavailable=True, title="EHR database upgrade")
        lifecycle.submit(hospital.agent, change.pk)
        lifecycle.approve(hospital.manager, change.pk, "ok")
        event = DowntimeEvent.objects.get()
        assert event.status == "scheduled"
        assert downtime.send_notice(event, START - timedelta(days=7))
        assert maintenance.window_for(monitor, during) is not None

        clock.move_to(START - timedelta(days=1))
        with pytest.raises(InvalidInput) as blank:
            lifecycle.cancel(hospital.agent, change.pk, "   ")
        assert blank.value.field == "reason"
        assert Change.objects.get(pk=change.pk).state == "scheduled"
        told_before = Notification.objects.filter(body__contains="Cancelled:").count()
        lifecycle.cancel(hospital.agent, change.pk, "The vendor postponed the upgrade")

    change.refresh_from_db()
    assert change.state == "cancelled"
    assert change.outcome_notes == "The vendor postponed the upgrade"
    assert maintenance.window_for(monitor, during) is None
    event.refresh_from_db()
    assert event.status == "cancelled"
    told = Notification.objects.filter(body__contains="Cancelled:")
    assert told.count() > told_before
    assert "The vendor postponed the upgrade" in told.first().body  # type: ignore[union-attr]
    # The downtime loop never starts it; the change goes nowhere from here.
    assert watch.run_due(START + timedelta(minutes=1)).started == 0
    assert DowntimeEvent.objects.get().status == "cancelled"
    with pytest.raises(Conflict):
        lifecycle.cancel(hospital.agent, change.pk, "again")
    with pytest.raises(Conflict):
        lifecycle.start(hospital.agent, change.pk)


def test_work_under_way_is_not_cancelled_and_nor_is_an_active_downtime(
    make_change: Any,
    cmdb: Cmdb,  # noqa: F811
    hospital: Hospital,
) -> None:
    with time_machine.travel(START - timedelta(days=12), tick=False):
        change = make_change(service_unavailable=True)
        lifecycle.submit(hospital.agent, change.pk)
        lifecycle.approve(hospital.manager, change.pk, "ok")
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        watch.run_due(START + timedelta(minutes=1))
        lifecycle.start(hospital.agent, change.pk)
    with pytest.raises(Conflict) as under_way:
        lifecycle.cancel(hospital.agent, change.pk, "too late")
    assert under_way.value.field == "state"
    event = DowntimeEvent.objects.get()
    with pytest.raises(Conflict) as active:
        downtime.cancel(hospital.agent, event.pk, "too late")
    assert active.value.field == "status"
    assert DowntimeEvent.objects.get().status == "active"
