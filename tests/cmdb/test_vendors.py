"""Vendors, contracts and BAAs through the API, and the expiry reminders the engine sends
once per threshold, even across restarts."""

from __future__ import annotations

from datetime import date
from typing import Any

from careline.cmdb import reminders
from careline.cmdb.models import Baa, Contract, ExpiryReminder, Vendor
from careline.cmdb.services import vendors
from careline.engine.runner import REGISTRY
from careline.oncall.models import Notification
from tests.cmdb.conftest import Cmdb
from tests.conftest import Hospital


def test_a_vendor_with_its_escalation_path_contract_and_baa(cmdb: Cmdb, api_as: Any) -> None:
    api = api_as(cmdb.hospital.manager)
    vendor = api.post(
        "/cmdb/vendors",
        {
            "name": "Meridian Health Systems",
            "support_phone": "+1 800 555 0101",
            "support_email": "support@meridian.example",
        },
    )
    assert vendor.status_code == 201, vendor.content
    vendor_id = vendor.json()["id"]
    for level, name in ((2, "Duty manager"), (1, "Help desk")):
        contact = api.post(
            f"/cmdb/vendors/{vendor_id}/contacts", {"name": name, "escalation_level": level}
        )
        assert contact.status_code == 201, contact.content
    contract = api.post(
        "/cmdb/contracts",
        {
            "vendor": vendor_id,
            "reference": "MHS-1",
            "coverage": "EHR licences and support",
            "sla": "1-hour response, 24/7",
            "starts_on": "2026-01-01",
            "ends_on": "2027-12-31",
            "yearly_cost": "310000.00",
            "renewal_notice_days": 120,
            "items": [cmdb.ehr.pk, cmdb.ehr_db.pk],
        },
    )
    assert contract.status_code == 201, contract.content
    assert contract.json()["items"] == sorted([cmdb.ehr.pk, cmdb.ehr_db.pk])
    baa = api.post(
        "/cmdb/baas",
        {
            "vendor": vendor_id,
            "status": "active",
            "signed_on": "2025-06-01",
            "expires_on": "2028-06-01",
            "breach_notification_days": 30,
            "subcontractors": ["Cloudhost Hosting"],
        },
    )
    assert baa.status_code == 201, baa.content

    read = api_as(cmdb.hospital.auditor).get(f"/cmdb/vendors/{vendor_id}")
    assert [c["name"] for c in read.json()["contacts"]] == ["Help desk", "Duty manager"]
    assert api_as(cmdb.hospital.auditor).get("/cmdb/baas", vendor=vendor_id).json()["count"] == 1


def _refused(answer: Any, status: int, field: str) -> None:
    assert answer.status_code == status, answer.content
    assert field in answer.json()["detail"], answer.json()


def test_bad_vendors_contracts_and_baas_are_refused_naming_the_field(
    hospital: Hospital, api_as: Any
) -> None:
    api = api_as(hospital.engineer)
    vendor_id = api.post("/cmdb/vendors", {"name": "Clearview Imaging"}).json()["id"]
    _refused(api.post("/cmdb/vendors", {"name": "Clearview Imaging"}), 409, "name")
    _refused(api.post("/cmdb/vendors", {"name": "  "}), 422, "name")
    _refused(
        api.post("/cmdb/vendors", {"name": "X", "support_email": "not-an-address"}),
        422,
        "support_email",
    )
    base = {
        "vendor": vendor_id,
        "reference": "C-1",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    _refused(api.post("/cmdb/contracts", {**base, "ends_on": "2026-13-01"}), 422, "ends_on")
    _refused(api.post("/cmdb/contracts", {**base, "ends_on": "2025-01-01"}), 422, "ends_on")
    _refused(api.post("/cmdb/contracts", {**base, "vendor": 999}), 422, "vendor")
    _refused(api.post("/cmdb/contracts", {**base, "items": [999]}), 422, "items")
    _refused(
        api.post("/cmdb/contracts", {**base, "renewal_notice_days": -1}), 422, "renewal_notice_days"
    )
    assert api.post("/cmdb/contracts", base).status_code == 201
    _refused(api.post("/cmdb/contracts", base), 409, "reference")
    _refused(api.post("/cmdb/baas", {"vendor": vendor_id, "status": "signed"}), 422, "status")
    _refused(api.post("/cmdb/baas", {"vendor": vendor_id, "status": "active"}), 422, "signed_on")
    _refused(
        api.post(
            "/cmdb/baas",
            {"vendor": vendor_id, "signed_on": "2026-05-01", "expires_on": "2026-01-01"},
        ),
        422,
        "expires_on",
    )
    assert Contract.objects.count() == 1
    assert not Baa.objects.exists()
    assert api_as(hospital.agent).post("/cmdb/vendors", {"name": "Y"}).status_code == 403
    assert Vendor.objects.count() == 1


def _setup_expiring(hospital: Hospital) -> tuple[Contract, Baa]:
    vendor = vendors.save_vendor(None, {"name": "Clearview Imaging"})
    contract = vendors.save_contract(
        None,
        {
            "vendor": vendor.pk,
            "reference": "CVI-PACS-7",
            "starts_on": date(2025, 1, 1),
            "ends_on": date(2026, 12, 31),
            "yearly_cost": "85000",
            "renewal_notice_days": 90,
        },
    )
    baa = vendors.save_baa(
        None,
        {
            "vendor": vendor.pk,
            "status": "active",
            "signed_on": date(2024, 1, 1),
            "expires_on": date(2027, 1, 31),
        },
    )
    for person in (hospital.manager, hospital.admin):
        person.email = f"{person.username}@hospital.example"
        person.save()
    return contract, baa


def test_reminders_go_once_per_threshold_to_the_it_managers_even_after_a_restart(
    hospital: Hospital,
) -> None:
    _setup_expiring(hospital)  # contract ends 2026-12-31, BAA 2027-01-31

    assert reminders.sweep(date(2026, 10, 1)) == 0  # 91 days left: not yet
    assert reminders.sweep(date(2026, 10, 2)) == 1  # the contract's 90-day renewal notice
    sent = Notification.objects.order_by("to")
    assert [n.to for n in sent] == ["alex@hospital.example", "helen@hospital.example"]
    assert sent[0].subject == "Contract CVI-PACS-7 with Clearview Imaging ends in 90 days"
    # The engine restarts and sweeps the same day again: nothing is sent twice.
    assert reminders.sweep(date(2026, 10, 2)) == 0
    assert Notification.objects.count() == 2

    assert reminders.sweep(date(2026, 11, 2)) == 1  # the BAA at 90 days
    assert (
        Notification.objects.filter(subject__startswith="BAA with Clearview Imaging").count() == 2
    )
    # The engine was off for weeks: only the nearest threshold (7 days) goes, not 30 as well.
    assert reminders.sweep(date(2026, 12, 28)) == 1
    assert sorted(ExpiryReminder.objects.values_list("object_type", "days_before")) == [
        ("baa", 90),
        ("contract", 7),
        ("contract", 90),
    ]
    assert reminders.sweep(date(2026, 12, 29)) == 0


def test_the_reminder_loop_is_registered_with_the_engine(db: None) -> None:
    assert "cmdb-expiry-reminders" in [spec.name for spec in REGISTRY]


def test_a_vendor_with_contracts_is_kept_until_they_are_deleted(
    hospital: Hospital, api_as: Any
) -> None:
    api = api_as(hospital.manager)
    vendor = vendors.save_vendor(None, {"name": "NetCore Networks"})
    contract = vendors.save_contract(
        None,
        {
            "vendor": vendor.pk,
            "reference": "NCN-1",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
        },
    )
    kept = api.client.delete(f"/api/v1/cmdb/vendors/{vendor.pk}", headers=api.headers)
    assert kept.status_code == 409
    assert "still referred to" in kept.json()["detail"]
    assert (
        api.client.delete(f"/api/v1/cmdb/contracts/{contract.pk}", headers=api.headers).status_code
        == 204
    )
    assert (
        api.client.delete(f"/api/v1/cmdb/vendors/{vendor.pk}", headers=api.headers).status_code
        == 204
    )
    assert not Vendor.objects.exists()
    assert api.client.delete("/api/v1/cmdb/baas/999", headers=api.headers).status_code == 404
