"""Lifecycle, vulnerability and budget reports, and the scanner import behind them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from careline.cmdb import reports
from careline.cmdb.models import ConfigItem, Vulnerability
from careline.cmdb.services import csvio, items, vendors, vulns
from tests.cmdb.conftest import Cmdb

TODAY = date(2026, 11, 24)


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(date(2026, 11, 24), tick=False):
        yield


def _set(item: ConfigItem, **values: object) -> None:
    ConfigItem.objects.filter(pk=item.pk).update(**values)


def test_warranties_ending_within_90_days_soonest_first(cmdb: Cmdb) -> None:
    _set(cmdb.esx1, warranty_end=TODAY + timedelta(days=89))
    _set(cmdb.esx2, warranty_end=TODAY + timedelta(days=10))
    _set(cmdb.vm1, warranty_end=TODAY + timedelta(days=91))  # outside
    _set(cmdb.vm2, warranty_end=TODAY - timedelta(days=1))  # already ended
    assert [i.name for i in reports.warranties_ending(TODAY)] == ["ESX-2", "ESX-1"]


def test_operating_systems_past_end_of_life_leave_out_retired_items(cmdb: Cmdb) -> None:
    _set(
        cmdb.vm1, os_name="Windows Server", os_version="2012 R2", os_end_of_life=date(2023, 10, 10)
    )
    _set(
        cmdb.vm2,
        os_name="Windows Server",
        os_version="2012 R2",
        os_end_of_life=date(2023, 10, 10),
        status="retired",
    )
    _set(cmdb.db_vm, os_end_of_life=date(2029, 1, 1))
    assert [i.name for i in reports.os_past_end_of_life(TODAY)] == ["EHR-VM1"]


def test_constrained_devices_show_their_controls_and_risk_acceptance_state(
    cmdb: Cmdb, frozen: Any
) -> None:
    controls = "Own VLAN, no internet route"
    pump = items.create_item(
        None,
        {
            "name": "Pump 1",
            "item_type": "medical_device",
            "support_status": "constrained",
            "compensating_controls": controls,
        },
    )
    items.create_item(
        None,
        {
            "name": "Pump 2",
            "item_type": "medical_device",
            "support_status": "constrained",
            "compensating_controls": controls,
        },
    )
    expired = items.create_item(
        None,
        {
            "name": "Pump 3",
            "item_type": "medical_device",
            "support_status": "constrained",
            "compensating_controls": controls,
        },
    )
    items.accept_risk(
        cmdb.hospital.manager,
        pump.pk,
        reason="vendor forbids patches",
        expires=TODAY + timedelta(days=100),
    )
    _set(expired, risk_acceptance_expires=TODAY - timedelta(days=1))

    states = {d.item.name: d.risk_state for d in reports.constrained_devices(TODAY)}
    assert states == {"Pump 1": "accepted", "Pump 2": "missing", "Pump 3": "expired"}

    # Back to supported: the acceptance is cleared with it.
    items.update_item(cmdb.hospital.manager, pump.pk, {"support_status": "supported"})
    assert ConfigItem.objects.get(pk=pump.pk).risk_acceptance_expires is None


def test_replacement_plan_groups_cost_by_year_with_overdue_in_this_year(cmdb: Cmdb) -> None:
    _set(cmdb.esx1, replacement_due=date(2027, 3, 1), replacement_cost=Decimal("18000"))
    _set(cmdb.esx2, replacement_due=date(2027, 6, 1), replacement_cost=Decimal("19000"))
    _set(cmdb.vm1, end_of_life=date(2025, 1, 1), purchase_cost=Decimal("500"))  # overdue
    plan = reports.replacement_plan(TODAY)
    assert [(y.year, y.count, y.cost) for y in plan] == [
        (2026, 1, Decimal("500")),
        (2027, 2, Decimal("37000")),
    ]


SCAN = (
    "host,cve,severity,first_seen,fixed\n"
    "ehr-app-01,CVE-2024-1111,critical,2026-10-01,\n"  # 15-day target: past
    "10.0.0.21,CVE-2024-2222,low,2026-11-01,\n"  # by IP; within 180 days
    "print-01,CVE-2023-3333,high,2026-01-01,2026-02-01\n"  # fixed
)


def test_a_scanner_export_gives_open_findings_by_item_and_service_with_age(cmdb: Cmdb) -> None:
    result = vulns.import_scan(cmdb.hospital.engineer, SCAN.encode())
    assert (result.opened, result.fixed) == (2, 1)
    by_item = reports.vulnerabilities_by_item(TODAY)
    assert by_item == [
        {
            "item_id": cmdb.vm1.pk,
            "item": "EHR-VM1",
            "open": 2,
            "critical": 1,
            "past_target": 1,
            "oldest_days": 54,
        }
    ]
    by_service = reports.vulnerabilities_by_service(TODAY)
    assert [(r["service"], r["open"], r["past_target"]) for r in by_service] == [("EHR", 2, 1)]
    assert [v.cve for v in reports.past_patch_target(TODAY)] == ["CVE-2024-1111"]

    # The next scan says it was fixed: seen again, it is updated, not duplicated.
    vulns.import_scan(
        None,
        b"host,cve,severity,first_seen,fixed\nehr-app-01,CVE-2024-1111,critical,2026-10-01,2026-11-20\n",
    )
    assert Vulnerability.objects.count() == 3
    assert [v.cve for v in reports.past_patch_target(TODAY)] == []


def test_a_bad_scanner_file_is_refused_by_line_and_column_storing_nothing(cmdb: Cmdb) -> None:
    bad = (
        "host,cve,severity,first_seen,fixed\n"
        "ehr-app-01,CVE-2024-1111,critical,2026-10-01,\n"
        "unknown-host,CVE-2024-1,urgent,yesterday,\n"
    )
    with pytest.raises(csvio.CsvRejected) as refused:
        vulns.import_scan(None, bad.encode())
    assert refused.value.errors == [
        "line 3, column host: no item has host name or IP 'unknown-host'",
        "line 3, column cve: must look like CVE-2024-12345 (got 'CVE-2024-1')",
        "line 3, column severity: must be one of critical, high, medium, low (got 'urgent')",
        "line 3, column first_seen: must be a date as YYYY-MM-DD (got 'yesterday')",
    ]
    with pytest.raises(csvio.CsvRejected, match="the columns must be host, cve"):
        vulns.import_scan(None, b"ip,cve\n1.2.3.4,CVE-2024-1111\n")
    assert not Vulnerability.objects.exists()


def test_budget_by_service_department_and_vendor_with_the_replacement_forecast(
    cmdb: Cmdb, api_as: Any
) -> None:
    year = timezone.localdate().year
    vendor = vendors.save_vendor(None, {"name": "Meridian Health Systems"})
    vendors.save_contract(
        None,
        {
            "vendor": vendor.pk,
            "reference": "MHS-1",
            "starts_on": date(year, 1, 1),
            "ends_on": date(year, 12, 31),
            "yearly_cost": "300000",
            "items": [cmdb.ehr.pk, cmdb.ehr_db.pk],
        },
    )
    items.update_item(
        cmdb.hospital.manager,
        cmdb.vm1.pk,
        {
            "department": "NG-IT",
            "yearly_cost": "1000",
            "replacement_due": date(year, 9, 1),
            "replacement_cost": "5000",
        },
    )
    vendors.set_budget(None, year=year, scope="service", target="EHR", amount="200000")
    vendors.set_budget(None, year=year, scope="vendor", target=vendor.pk, amount="350000")

    answer = api_as(cmdb.hospital.auditor).get("/cmdb/reports/budget", year=year)
    assert answer.status_code == 200, answer.content
    lines = {(line["scope"], line["name"]): line for line in answer.json()}
    ehr = lines[("service", "Electronic health record")]
    # 150,000 (half the contract: the EHR app) + 1,000 running on EHR-VM1; + 5,000 replacing it.
    assert (ehr["yearly_cost"], ehr["replacements"], ehr["forecast"]) == (
        "151000.00",
        "5000.00",
        "156000.00",
    )
    assert (ehr["budget"], ehr["variance"]) == ("200000.00", "44000.00")
    assert lines[("vendor", "Meridian Health Systems")]["forecast"] == "300000.00"
    assert lines[("department", "Information Technology")]["forecast"] == "6000.00"


def test_report_endpoints_answer_it_staff(cmdb: Cmdb, api_as: Any) -> None:
    api = api_as(cmdb.hospital.agent)
    for path in (
        "warranties",
        "os-end-of-life",
        "constrained-devices",
        "replacement-plan",
        "vulnerabilities",
        "budget",
    ):
        assert api.get(f"/cmdb/reports/{path}").status_code == 200, path
    assert api.get("/cmdb/reports/warranties", days=0).status_code == 422
    assert api_as(cmdb.hospital.nurse).get("/cmdb/reports/budget").status_code == 403
