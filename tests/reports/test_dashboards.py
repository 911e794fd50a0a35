"""Each dashboard's figures against a hospital built by hand (tests/reports/dashboard_setup):
every number below is worked out from the tickets, checks, backups, deflections and pages
made there, with the clock frozen at NOW."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from careline.continuity.services import recovery
from careline.core.errors import InvalidInput
from careline.core.models import User
from careline.env import ImproperSetting
from careline.reports.dashboards import catalog, config, filters
from careline.reports.dashboards.tables import Dashboard
from tests.conftest import Hospital
from tests.reports import dashboard_setup as build
from tests.reports.dashboard_setup import NOW, PERIOD


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def rows(dashboard: Dashboard, table: str) -> list[dict[str, Any]]:
    found = dashboard.table(table)
    assert found is not None, table
    return found.dicts()


def by(items: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in items}


def see(user: User, name: str, **params: str) -> Dashboard:
    return catalog.build(user, name, {**PERIOD, **params})


# --------------------------------------------------------------------------- filters


def test_the_period_defaults_to_the_last_30_days_in_the_sites_zone(hospital: Hospital) -> None:
    f = filters.parse({})
    assert (f.since.isoformat(), f.until.isoformat(), f.days) == ("2026-02-14", "2026-03-15", 30)
    north = filters.parse({"site": "NORTH", "days": "7"})
    assert (north.since.isoformat(), north.until.isoformat()) == ("2026-03-09", "2026-03-15")
    # New York's day starts at 04:00 UTC in March (EDT) and 05:00 UTC in February (EST).
    assert north.start == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    spanning = filters.parse({"site": "NORTH", "from": "2026-02-01", "to": "2026-03-15"})
    assert spanning.start == datetime(2026, 2, 1, 5, 0, tzinfo=UTC)
    assert spanning.end == datetime(2026, 3, 16, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"site": "NOWHERE"}, "site"),  # a site that does not exist
        ({"from": "15/03/2026"}, "from"),  # a date in another format
        ({"to": "2026-02-30"}, "to"),  # a day that does not exist
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),  # the end before the start
        ({"from": "2024-01-01", "to": "2026-03-01"}, "to"),  # longer than history is kept
        ({"days": "14"}, "days"),  # not one of the presets
        ({"days": "abc"}, "days"),  # not a number
        ({"days": "7", "from": "2026-03-01"}, "days"),  # a preset and dates at once
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    hospital: Hospital, params: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        filters.parse(params)
    assert refused.value.field == field


def test_bad_settings_stop_start_up_naming_the_variable(settings: Any) -> None:
    settings.UPTIME_TARGETS = ["99.9", "lots"]
    with pytest.raises(ImproperSetting, match="CARELINE_UPTIME_TARGETS"):
        config.check()
    settings.UPTIME_TARGETS = ["99.9", "99.5", "101"]
    with pytest.raises(ImproperSetting, match="CARELINE_UPTIME_TARGETS"):
        config.check()
    settings.UPTIME_TARGETS = ["99.9", "99.5", "99"]
    settings.NIGHT_HOURS = "late"
    with pytest.raises(ImproperSetting, match="CARELINE_NIGHT_HOURS"):
        config.check()


# --------------------------------------------------------------------------- tickets


def test_sla_compliance_by_priority_and_month(hospital: Hospital) -> None:
    build.the_tickets(hospital)
    sla = see(hospital.manager, "sla")
    p = by(rows(sla, "by-priority"), "priority")
    # P1: one ticket met both targets, one breached both; "old" is before the period.
    assert p["P1"] == {
        "priority": "P1",
        "response_met": 1,
        "response_breached": 1,
        "response_percent": 50.0,
        "resolution_met": 1,
        "resolution_breached": 1,
        "resolution_percent": 50.0,
    }
    # P2: the running ticket and the security incident (the manager is cleared) met the
    # response; neither is resolved, so resolution has no figure.
    assert (p["P2"]["response_met"], p["P2"]["resolution_percent"]) == (2, None)
    assert (p["P3"]["response_percent"], p["P3"]["resolution_percent"]) == (100.0, 100.0)
    # P4's only ticket ("late") opened after the period.
    assert p["P4"]["response_met"] + p["P4"]["response_breached"] == 0
    months = {(r["month"], r["priority"]): r for r in rows(sla, "by-month")}
    assert set(months) == {("2026-02", "P1"), ("2026-03", "P2"), ("2026-03", "P3")}
    assert months[("2026-03", "P2")]["response_met"] == 2
    trend = by(rows(sla, "resolution-by-month"), "month")
    assert trend["2026-02"]["P1"] == 50.0
    assert trend["2026-03"]["P3"] == 100.0
    assert "Breaches: 2" in sla.summary


def test_months_and_sites_are_read_in_the_sites_time_zone(hospital: Hospital) -> None:
    build.the_tickets(hospital)
    # At Northgate (New York) the P2 opened at 22:00 on 28 February: a February ticket.
    north = see(hospital.manager, "sla", site="NORTH")
    months = {(r["month"], r["priority"]) for r in rows(north, "by-month")}
    assert months == {("2026-02", "P1"), ("2026-02", "P2"), ("2026-03", "P2")}
    # Riverside's P3 is not Northgate's.
    assert by(rows(north, "by-priority"), "priority")["P3"]["response_met"] == 0
    river = see(hospital.manager, "sla", site="RIVER")
    assert [r["priority"] for r in rows(river, "by-month")] == ["P3"]


def test_security_incidents_count_only_for_cleared_viewers(hospital: Hospital) -> None:
    build.the_tickets(hospital)
    agent = by(rows(see(hospital.agent, "volume"), "by-category"), "category")
    manager = by(rows(see(hospital.manager, "volume"), "by-category"), "category")
    assert agent["Security incident"]["tickets"] == 0
    assert manager["Security incident"]["tickets"] == 1
    assert agent["Incident"]["tickets"] == manager["Incident"]["tickets"] == 4


def test_mean_times_to_respond_and_resolve_by_priority(hospital: Hospital) -> None:
    build.the_tickets(hospital)
    times = by(rows(see(hospital.manager, "response-times"), "by-priority"), "priority")
    # P1: 10 and 30 minutes to respond, 3 and 6 hours to resolve.
    assert times["P1"]["opened"] == 2
    assert times["P1"]["mean_respond_minutes"] == 20.0
    assert times["P1"]["mean_resolve_hours"] == 4.5
    # P2: 20 and 5 minutes; nothing resolved.
    assert times["P2"]["mean_respond_minutes"] == 12.5
    assert (times["P2"]["resolved"], times["P2"]["mean_resolve_hours"]) == (0, None)
    assert times["P3"]["mean_resolve_hours"] == 24.0
    assert times["P4"]["opened"] == 0
    assert times["P4"]["mean_respond_minutes"] is None


def test_volume_by_service_department_category_and_month(hospital: Hospital) -> None:
    build.the_tickets(hospital)
    volume = see(hospital.manager, "volume")
    service = by(rows(volume, "by-service"), "service")
    assert service["EHR"]["tickets"] == 3  # two P1s and Riverside's P3
    assert service["PRINT"] == {
        "service": "PRINT",
        "name": "Printing",
        "tickets": 1,
        "still_open": 1,
    }
    assert service["(none)"]["tickets"] == 1  # the security incident names no service
    dept = by(rows(volume, "by-department"), "department")
    assert (dept["NG-ED"]["tickets"], dept["NG-ED"]["site"]) == (4, "NORTH")
    assert dept["RV-W1"]["tickets"] == 1
    month = by(rows(volume, "by-month"), "month")
    assert (month["2026-02"]["tickets"], month["2026-03"]["tickets"]) == (2, 3)
    assert "5 tickets opened" in volume.summary
    only_river = see(hospital.manager, "volume", site="RIVER")
    assert [r["department"] for r in rows(only_river, "by-department")] == ["RV-W1"]


# --------------------------------------------------------------------------- uptime


def test_uptime_per_service_against_the_target_of_its_tier(hospital: Hospital) -> None:
    feb = datetime(2026, 2, 10, 0, 0, tzinfo=UTC)
    ehr_ed = build.monitor("EHR web", "EHR", "NG-ED")
    ehr_db = build.monitor("EHR database", "EHR", "RV-W1")
    printing = build.monitor("Print server", "PRINT", None)
    build.rollup(ehr_ed, feb, checks=120, up=119)  # one check down
    build.rollup(ehr_ed, feb + timedelta(hours=1), checks=120, up=100, degraded=20)
    build.rollup(ehr_db, feb, checks=60, up=60)
    build.rollup(printing, feb, checks=100, up=99)
    # Not counted: a minute rollup (its hour is counted), and an hour before the period.
    build.rollup(ehr_ed, feb, checks=2, up=0, period_s=60)
    build.rollup(printing, datetime(2026, 1, 20, tzinfo=UTC), checks=100, up=0)
    uptime = see(hospital.manager, "uptime")
    services = by(rows(uptime, "by-service"), "service")
    # EHR: (119 + 120 + 60) of 300 checks worked; degraded counts as working.
    assert services["EHR"]["uptime_percent"] == round(100 * 299 / 300, 3)
    assert (services["EHR"]["target_percent"], services["EHR"]["verdict"]) == (99.9, "missed")
    assert services["EHR"]["checks"] == 300
    assert (services["PRINT"]["uptime_percent"], services["PRINT"]["verdict"]) == (99.0, "met")
    # At Northgate: only the ED's EHR monitor; printing's monitor belongs to no department.
    north = by(rows(see(hospital.manager, "uptime", site="NORTH"), "by-service"), "service")
    assert set(north) == {"EHR"}
    assert north["EHR"]["uptime_percent"] == round(100 * 239 / 240, 3)


def test_uptime_targets_come_from_the_setting(hospital: Hospital, settings: Any) -> None:
    settings.UPTIME_TARGETS = ["99.0", "98.0", "95.0"]
    m = build.monitor("EHR web", "EHR", "NG-ED")
    build.rollup(m, datetime(2026, 3, 1, tzinfo=UTC), checks=1000, up=995)
    ehr = by(rows(see(hospital.manager, "uptime"), "by-service"), "service")["EHR"]
    assert (ehr["target_percent"], ehr["uptime_percent"], ehr["verdict"]) == (99.0, 99.5, "met")


# --------------------------------------------------------------------------- backups


def test_backup_compliance_is_readiness_now(hospital: Hospital) -> None:
    with time_machine.travel(NOW - timedelta(days=10), tick=False):
        recovery.save_plan(
            hospital.engineer, "EHR", recovery.PlanDraft(rpo_minutes=24 * 60, rto_minutes=240)
        )
    fresh = build.backup_job(hospital, "EHR nightly", "EHR", "NG-ED")
    stale = build.backup_job(hospital, "EHR archive", "EHR", "RV-W1")
    build.good_backup(fresh, NOW - timedelta(hours=2))
    build.good_backup(stale, NOW - timedelta(hours=30))
    backups = see(hospital.manager, "backups")
    ehr = by(rows(backups, "by-service"), "service")["EHR"]
    assert (ehr["jobs"], ehr["within_rpo"], ehr["past_rpo"]) == (2, 1, 1)
    assert ehr["compliance_percent"] == 50.0
    assert "EHR archive: newest good backup is 30 h old" in ehr["flags"]
    jobs = by(rows(backups, "jobs"), "job")
    assert (jobs["EHR nightly"]["age_hours"], jobs["EHR nightly"]["within_rpo"]) == (2.0, "yes")
    assert jobs["EHR archive"]["within_rpo"] == "no"
    assert "1 of 2 backup jobs within their RPO (50.0 %)" in backups.summary
    # At Northgate: only the job whose heartbeat monitor belongs to a department there.
    north = see(hospital.manager, "backups", site="NORTH")
    assert [j["job"] for j in rows(north, "jobs")] == ["EHR nightly"]
    assert by(rows(north, "by-service"), "service")["EHR"]["compliance_percent"] == 100.0


# --------------------------------------------------------------------------- deflection


def test_deflection_rate_per_month(hospital: Hospital) -> None:
    made = build.the_tickets(hospital)
    badge = build.article("Badge tap not working")
    printer = build.article("Printer jammed")
    for day in (3, 4, 5):
        build.deflect(badge, hospital.nurse, datetime(2026, 2, day, 10, tzinfo=UTC))
    build.deflect(printer, hospital.outsider, datetime(2026, 3, 6, 10, tzinfo=UTC))
    build.deflect(printer, hospital.nurse, datetime(2026, 1, 6, 10, tzinfo=UTC))  # before
    build.shown(badge, made["p1_breached"])
    deflection = see(hospital.manager, "deflection")
    month = by(rows(deflection, "by-month"), "month")
    # February: 3 deflections, 2 portal tickets (both P1s), one filed after an article.
    assert month["2026-02"] == {
        "month": "2026-02",
        "deflections": 3,
        "portal_tickets": 2,
        "after_article": 1,
        "deflection_percent": 60.0,
    }
    # March: 1 deflection; the P2 and the security incident came by the web, Riverside's
    # P3 by email (not the portal).
    assert (month["2026-03"]["portal_tickets"], month["2026-03"]["deflection_percent"]) == (
        2,
        round(100 / 3, 1),
    )
    top = rows(deflection, "articles")
    assert [(a["article"], a["deflections"]) for a in top] == [
        ("Badge tap not working", 3),
        ("Printer jammed", 1),
    ]
    assert "Deflection rate: 50.0 %" in deflection.summary  # 4 of 4 + 4
    river = by(rows(see(hospital.manager, "deflection", site="RIVER"), "by-month"), "month")
    assert river["2026-03"]["deflections"] == 1
    assert river["2026-03"]["portal_tickets"] == 0


# --------------------------------------------------------------------------- on call


def test_oncall_load_counts_pages_per_person_and_at_night_in_the_sites_zone(
    hospital: Hospital,
) -> None:
    sam, priya = hospital.engineer, hospital.agent
    # 08:00 UTC is 04:00 in New York (EDT from 8 March): night there, not in UTC.
    ny = build.page("NORTH", datetime(2026, 3, 10, 8, 0, tzinfo=UTC))
    build.notify(ny, sam, datetime(2026, 3, 10, 8, 0, tzinfo=UTC), "email")
    build.notify(ny, sam, datetime(2026, 3, 10, 8, 1, tzinfo=UTC), "sms")  # the same page
    # 23:30 UTC is 18:30 in Chicago: day there, night in UTC.
    chicago = build.page("RIVER", datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    build.notify(chicago, sam, datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    # A page with no site is read in CARELINE_TIME_ZONE (UTC): 23:00 is night.
    nowhere = build.page(None, datetime(2026, 3, 11, 23, 0, tzinfo=UTC))
    build.notify(nowhere, priya, datetime(2026, 3, 11, 23, 0, tzinfo=UTC))
    # Before the period; and a message of no page (not paging) to sam.
    old = build.page("NORTH", datetime(2026, 1, 2, 3, 0, tzinfo=UTC))
    build.notify(old, priya, datetime(2026, 1, 2, 3, 0, tzinfo=UTC))
    load = see(hospital.manager, "oncall")
    people = by(rows(load, "by-person"), "username")
    assert people["sam"] == {
        "username": "sam",
        "name": "Sam",
        "pages": 2,
        "night_pages": 1,
        "night_percent": 50.0,
        "messages": 3,
    }
    assert (people["priya"]["pages"], people["priya"]["night_pages"]) == (1, 1)
    months = by(rows(load, "by-month"), "month")
    assert months["2026-03"] == {"month": "2026-03", "pages": 3, "night_pages": 2, "people": 2}
    north = by(rows(see(hospital.manager, "oncall", site="NORTH"), "by-person"), "username")
    assert set(north) == {"sam"}
    assert north["sam"]["pages"] == 1


def test_night_hours_come_from_the_setting(hospital: Hospital, settings: Any) -> None:
    settings.NIGHT_HOURS = "01:00-05:00"  # a window that does not wrap past midnight
    p = build.page(None, datetime(2026, 3, 10, 4, 59, tzinfo=UTC))
    build.notify(p, hospital.engineer, datetime(2026, 3, 10, 4, 59, tzinfo=UTC))
    q = build.page(None, datetime(2026, 3, 10, 5, 0, tzinfo=UTC))
    build.notify(q, hospital.engineer, datetime(2026, 3, 10, 5, 0, tzinfo=UTC))
    sam = by(rows(see(hospital.manager, "oncall"), "by-person"), "username")["sam"]
    assert (sam["pages"], sam["night_pages"]) == (2, 1)
