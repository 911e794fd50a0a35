"""service_states(): each clinical service's state from its monitors, maintenance windows and
active downtime, in a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careline.continuity.services import downtime
from careline.reports.status import report, states
from careline.reports.status.states import ServiceState, service_states
from tests.conftest import Hospital
from tests.reports.status_setup import (
    T0,
    many_monitors,
    monitor,
    service,
    unplanned_downtime,
    window,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> object:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def state_of(code: str) -> ServiceState:
    return next(s for s in service_states() if s.code == code)


def test_a_down_monitor_makes_its_service_down_and_is_named(hospital: Hospital) -> None:
    monitor("EHR web", "up")
    monitor("EHR interface engine", "up")
    monitor("EHR database", "down", since=T0 - timedelta(minutes=12))
    ehr = state_of("EHR")
    assert ehr.state == "down"
    assert ehr.reason == "1 of 3 monitors down: EHR database"
    assert ehr.since == T0 - timedelta(minutes=12)
    assert ehr.failing == ("EHR database",)
    assert (ehr.counts.watched, ehr.counts.up, ehr.counts.down) == (3, 2, 1)
    # Printing has no monitors at all: CareLine cannot say.
    printing = state_of("PRINT")
    assert (printing.state, printing.reason) == ("unknown", "Not monitored by CareLine")


def test_a_degraded_monitor_makes_its_service_degraded(hospital: Hospital) -> None:
    monitor("EHR web", "up")
    monitor("EHR web latency", "degraded", since=T0 - timedelta(minutes=5))
    ehr = state_of("EHR")
    assert (ehr.state, ehr.since) == ("degraded", T0 - timedelta(minutes=5))
    assert ehr.reason == "1 of 2 monitors degraded: EHR web latency"
    # Down outranks degraded.
    monitor("EHR database", "down")
    assert state_of("EHR").state == "down"
    assert state_of("EHR").failing == ("EHR database", "EHR web latency")


def test_all_monitors_up_is_operational_since_the_last_recovery(hospital: Hospital) -> None:
    monitor("EHR web", "up", since=T0 - timedelta(days=2))
    monitor("EHR database", "up", since=T0 - timedelta(hours=3))
    ehr = state_of("EHR")
    assert (ehr.state, ehr.reason) == ("operational", "All 2 monitors up")
    assert ehr.since == T0 - timedelta(hours=3)
    monitor("EHR new check", "unknown")
    assert state_of("EHR").reason == "2 of 3 monitors up, 1 not yet checked"


def test_paused_monitors_are_ignored(hospital: Hospital) -> None:
    monitor("EHR web", "up")
    monitor("EHR old server", "down", paused=True)
    ehr = state_of("EHR")
    assert (ehr.state, ehr.failing) == ("operational", ())
    assert (ehr.counts.watched, ehr.counts.paused) == (1, 1)
    assert ehr.reason == "Its monitor is up"
    # Only paused monitors: nothing is being watched.
    monitor("Print queue", "down", "PRINT", paused=True)
    printing = state_of("PRINT")
    assert (printing.state, printing.reason) == ("unknown", "Every monitor is paused (1)")


def test_monitors_never_checked_leave_the_service_unknown(hospital: Hospital) -> None:
    monitor("EHR web", "unknown")
    ehr = state_of("EHR")
    assert (ehr.state, ehr.reason) == ("unknown", "1 of 1 monitor not yet checked")


def test_a_window_naming_the_service_turns_down_into_maintenance(hospital: Hospital) -> None:
    monitor("EHR web", "down")
    monitor("EHR database", "up")
    window("EHR upgrade", T0 - timedelta(minutes=30), T0 + timedelta(hours=2), services=["EHR"])
    ehr = state_of("EHR")
    assert ehr.state == "maintenance"
    assert ehr.reason == "Maintenance: EHR upgrade"
    assert ehr.since == T0 - timedelta(minutes=30)
    assert (ehr.maintenance, ehr.maintenance_ends_at) == ("EHR upgrade", T0 + timedelta(hours=2))
    assert (ehr.failing, ehr.counts.silenced, ehr.counts.down) == ((), 1, 1)
    # Once the window closes the monitor's failure counts again.
    later = service_states(at=T0 + timedelta(hours=3))
    assert next(s for s in later if s.code == "EHR").state == "down"


def test_a_window_silencing_one_monitor_leaves_the_others_counting(hospital: Hospital) -> None:
    web = monitor("EHR web", "down")
    monitor("EHR database", "up")
    window("Web node patch", T0 - timedelta(minutes=5), T0 + timedelta(hours=1), monitors=[web.pk])
    ehr = state_of("EHR")
    assert ehr.state == "maintenance"
    assert ehr.reason == "Maintenance: Web node patch (EHR web is expected to fail)"
    # Another monitor failing outside the window: the service is down.
    monitor("EHR interface engine", "down")
    ehr = state_of("EHR")
    assert (ehr.state, ehr.failing) == ("down", ("EHR interface engine",))
    assert ehr.reason == "1 of 3 monitors down: EHR interface engine"


def test_a_tagged_window_and_a_recurring_one_silence_by_monitoring_rules(
    hospital: Hospital,
) -> None:
    monitor("Print server", "down", "PRINT", tags=["print-farm"])
    window(
        "Print farm swap", T0 - timedelta(minutes=1), T0 + timedelta(hours=1), tags=["print-farm"]
    )
    assert state_of("PRINT").state == "maintenance"
    monitor("EHR backup job", "degraded")
    # Every day 08:30-09:30 UTC: in force at 09:00, not at 10:00.
    window(
        "Nightly EHR reindex",
        T0 - timedelta(days=7),
        None,
        recurrence="30 8 * * *",
        duration_minutes=60,
        services=["EHR"],
    )
    assert state_of("EHR").state == "maintenance"
    assert state_of("EHR").since == T0 - timedelta(minutes=30)
    later = {s.code: s.state for s in service_states(at=T0 + timedelta(hours=1))}
    assert later["EHR"] == "degraded"
    # A window yet to open silences nothing.
    monitor("Print spooler", "down", "PRINT")
    window("Tomorrow", T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1), services=["PRINT"])
    assert state_of("PRINT").state == "down"


def test_active_downtime_outranks_everything(hospital: Hospital) -> None:
    monitor("EHR web", "up")
    window("EHR upgrade", T0 - timedelta(minutes=30), T0 + timedelta(hours=2), services=["EHR"])
    event = unplanned_downtime("EHR unavailable after storage failure", ["EHR"])
    ehr = state_of("EHR")
    assert ehr.state == "downtime"
    assert ehr.downtime == (event.reference,)
    assert ehr.reason == (
        f"Downtime procedures are active ({event.reference} EHR unavailable after storage failure)"
    )
    assert ehr.since == event.starts_at
    # Ended: the monitors speak again.
    downtime.end(hospital.agent, event.pk)
    assert state_of("EHR").state == "maintenance"


def test_a_planned_downtime_yet_to_start_changes_nothing(hospital: Hospital) -> None:
    monitor("EHR web", "up")
    downtime.declare(
        None,
        downtime.DowntimeDraft(
            title="EHR upgrade",
            kind="planned",
            services=["EHR"],
            starts_at=T0 + timedelta(days=2),
            ends_at=T0 + timedelta(days=2, hours=4),
        ),
    )
    assert state_of("EHR").state == "operational"


def test_services_come_most_critical_first_and_worst_sums_them_up(hospital: Hospital) -> None:
    service("PACS", "Picture archiving", tier=1)
    service("WIFI", "Guest Wi-Fi", tier=3)
    monitor("PACS archive", "up", "PACS")
    monitor("Print queue", "degraded", "PRINT")
    found = service_states()
    assert [s.code for s in found] == ["EHR", "PACS", "PRINT", "WIFI"]
    assert [s.tier_label for s in found][:2] == ["Tier 1: life-critical"] * 2
    assert states.worst(found) == "degraded"
    assert states.worst([s for s in found if s.code == "PACS"]) == "operational"


def test_query_count_does_not_grow_with_monitors(hospital: Hospital) -> None:
    """A handful of monitors, then hundreds more across several services, failing ones,
    windows and downtime: the same number of queries."""
    monitor("EHR web", "down")
    window("EHR upgrade", T0 - timedelta(minutes=30), T0 + timedelta(hours=2), services=["EHR"])
    unplanned_downtime("Printing down", ["PRINT"])
    with CaptureQueriesContext(connection) as few:
        service_states()
    for n in range(6):
        service(f"SVC{n}", f"Service {n}")
        many_monitors(60, f"SVC{n}", status="down" if n % 2 else "up")
    many_monitors(50, "EHR", status="degraded")
    window("Big one", T0 - timedelta(minutes=1), T0 + timedelta(hours=1), services=["SVC1"])
    unplanned_downtime("More down", ["SVC3", "SVC5"])
    with CaptureQueriesContext(connection) as many:
        found = service_states()
    assert len(many.captured_queries) == len(few.captured_queries) <= 10
    by_code = {s.code: s for s in found}
    assert by_code["SVC1"].state == "maintenance"
    assert by_code["SVC3"].state == "downtime"
    assert by_code["SVC0"].state == "operational"
    assert by_code["SVC0"].counts.up == 60
    assert by_code["EHR"].state == "maintenance"
    assert by_code["EHR"].counts.silenced == 51
    assert by_code["SVC1"].reason == "Maintenance: Big one"
    # The reason names five monitors, then counts the rest.
    monitor("Zzz", "down", "SVC0")
    assert state_of("SVC0").reason == "1 of 61 monitors down: Zzz"
    assert state_of("SVC5").state == "downtime"


def test_the_headline_speaks_of_the_services_careline_watches(hospital: Hospital) -> None:
    """Printing has no monitors throughout: it neither darkens nor clutters the headline."""
    built = report.build()
    assert (built.overall, built.headline) == (
        "unknown",
        "CareLine is not yet watching any clinical service",
    )
    monitor("EHR web", "up")
    built = report.build()
    assert (built.overall, built.headline) == ("operational", "All clinical services are working")
    assert built.attention == []
    assert built.counts == {"operational": 1, "unknown": 1}
    window("EHR upgrade", T0 - timedelta(minutes=1), T0 + timedelta(hours=1), services=["EHR"])
    built = report.build()
    assert (built.overall, built.headline) == ("maintenance", "Maintenance under way")
    assert [s.code for s in built.attention] == ["EHR"]
    monitor("Print queue", "down", "PRINT")
    built = report.build()
    assert built.headline == "Some clinical services are down"
    assert [s.code for s in built.attention] == ["PRINT", "EHR"]
