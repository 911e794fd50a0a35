"""What each compliance report says about a hospital (tests/reports/compliance_setup.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from careline.cmdb.models import Baa, ConfigItem, ServiceComponent, Vendor
from careline.core.errors import Forbidden
from careline.core.models import ClinicalService
from careline.core.permissions import ROLE_PERMS, Perm
from careline.reports.compliance import reports
from careline.reports.compliance.tables import Report
from careline.servicedesk.models import Queue, QueueMember, Ticket
from careline.servicedesk.services import tickets
from tests.conftest import Hospital
from tests.reports import compliance_setup
from tests.reports.compliance_setup import PHI_TITLE, PHISH_TITLE, SEC_TITLE, Reviewed


@pytest.fixture
def reviewed(hospital: Hospital) -> Reviewed:
    return compliance_setup.build(hospital)


def _rows(report: Report, table: str | None = None) -> list[dict[str, Any]]:
    chosen = report.table(table) if table else report.tables[0]
    keys = [c.key for c in chosen.columns]
    return [dict(zip(keys, row, strict=True)) for row in chosen.rows()]


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in rows}


# --- access review -------------------------------------------------------------------------


def test_access_review_lists_every_account_with_role_sign_in_and_dormancy(
    reviewed: Reviewed,
) -> None:
    h = reviewed.hospital
    report = reports.access_review(h.auditor)
    accounts = _by(_rows(report, "accounts"), "username")
    assert set(accounts) == {u.username for u in h.all().values()} | {"dan"}
    assert accounts["helen"]["role"] == "IT manager"
    assert accounts["helen"]["department"] == "NG-IT"
    assert accounts["helen"]["days_since_sign_in"] == 10
    assert accounts["helen"]["mfa_enrolled"] is True
    assert accounts["priya"]["mfa_enrolled"] is False
    # Dormant: active and no sign-in for 90 days (Maria), or never and created long ago (Olive).
    assert {u for u, r in accounts.items() if r["dormant"]} == {"maria", "olive"}
    assert accounts["olive"]["last_sign_in"] is None
    # Dan left: inactive, so not "dormant" but shown as not active.
    assert accounts["dan"]["active"] is False
    assert accounts["dan"]["dormant"] is False
    assert accounts["sam"]["active_tokens"] == 1
    assert accounts["frank"]["active_tokens"] == 0  # his only token is revoked
    assert "2 dormant accounts" in report.summary


def test_access_review_shows_each_token_and_what_state_it_is_in(reviewed: Reviewed) -> None:
    report = reports.access_review(reviewed.hospital.manager)
    tokens = _by(_rows(report, "tokens"), "name")
    assert tokens["monitoring"]["owner"] == "sam"
    assert tokens["monitoring"]["state"] == "in force"
    assert tokens["old-script"]["state"] == "dormant"  # unused for 120 days
    assert tokens["spreadsheet"]["state"] == "revoked"
    assert tokens["spreadsheet"]["revoked"] is not None
    assert tokens["laptop"]["state"] == "owner deactivated"
    assert tokens["monitoring"]["prefix"] == reviewed.sam_token.prefix
    # CareLine tokens have no expiry date; the review says so rather than leaving it blank.
    assert {t["expires"] for t in tokens.values()} == {"never (until revoked)"}
    assert "2 API tokens in force, 1 unused for 90 days" in report.summary


def test_access_review_filters_by_role_and_dormancy(reviewed: Reviewed) -> None:
    auditor = reviewed.hospital.auditor
    requesters = reports.access_review(auditor, role="requester")
    assert [r["username"] for r in _rows(requesters)] == ["maria", "olive"]
    dormant = reports.access_review(auditor, dormant=True)
    assert [r["username"] for r in _rows(dormant)] == ["maria", "olive"]
    assert [t["name"] for t in _rows(dormant, "tokens")] == ["old-script"]


def test_dormant_days_is_a_setting(reviewed: Reviewed, settings: Any) -> None:
    settings.DORMANT_DAYS = 5
    accounts = _by(_rows(reports.access_review(reviewed.hospital.auditor)), "username")
    assert accounts["helen"]["dormant"] is True  # 10 days without a sign-in


# --- PHI views -----------------------------------------------------------------------------


def _last_days(days: int = 30) -> dict[str, date]:
    today = timezone.localdate()
    return {"since": today - timedelta(days=days - 1), "until": today}


def test_phi_views_lists_who_opened_flagged_tickets_only(reviewed: Reviewed) -> None:
    h = reviewed.hospital
    assert reviewed.phi_ticket.phi_flagged
    assert not reviewed.plain_ticket.phi_flagged
    tickets.record_view(h.engineer, reviewed.phi_ticket)
    tickets.record_view(h.nurse, reviewed.phi_ticket)
    tickets.record_view(h.engineer, reviewed.plain_ticket)  # not PHI: not in the report
    report = reports.phi_views(h.auditor, **_last_days())
    rows = _rows(report)
    assert [(r["user"], r["ticket"]) for r in rows] == [
        ("maria", reviewed.phi_ticket.number),
        ("sam", reviewed.phi_ticket.number),
    ]
    viewers = _by(rows, "user")
    assert viewers["maria"]["relation"] == "requester"
    assert viewers["sam"]["relation"] is None
    assert viewers["sam"]["role"] == "Engineer"
    assert viewers["sam"]["department"] == "NG-ED"
    # The ticket's title may itself hold the PHI: the report names tickets by number only.
    assert all(PHI_TITLE not in str(v) for r in rows for v in r.values())
    assert report.summary[0] == "2 views of 1 flagged ticket by 2 people"


def test_phi_views_filter_by_period_and_user(reviewed: Reviewed) -> None:
    h = reviewed.hospital
    with time_machine.travel(timezone.now() - timedelta(days=45)):
        tickets.record_view(h.engineer, reviewed.phi_ticket)  # a month and a half ago
    tickets.record_view(h.engineer, reviewed.phi_ticket)
    tickets.record_view(h.manager, reviewed.phi_ticket)
    assert len(_rows(reports.phi_views(h.auditor, **_last_days(30)))) == 2
    assert len(_rows(reports.phi_views(h.auditor, **_last_days(60)))) == 3
    sam_only = reports.phi_views(h.auditor, **_last_days(60), user=h.engineer)
    assert {r["user"] for r in _rows(sam_only)} == {"sam"}
    assert sam_only.tables[0].total == 2


def test_phi_views_pages_through_many_views(reviewed: Reviewed) -> None:
    h = reviewed.hospital
    for _ in range(7):
        tickets.record_view(h.engineer, reviewed.phi_ticket)
    table = reports.phi_views(h.auditor, **_last_days()).tables[0]
    assert table.total == 7
    assert len(list(table.rows(5, 10))) == 2
    assert len(list(table.rows(0, 3))) == 3


# --- security incidents --------------------------------------------------------------------


def test_security_incidents_show_outcome_and_breach_risk(reviewed: Reviewed) -> None:
    report = reports.security_incidents(reviewed.hospital.auditor)
    rows = _by(_rows(report), "title")
    assert set(rows) == {SEC_TITLE, PHISH_TITLE}  # incidents and requests are not listed
    lost = rows[SEC_TITLE]
    assert lost["ticket"] == reviewed.lost_phone.number
    assert lost["outcome"] == "Breach of PHI confirmed"
    assert lost["breach_risk"] == "High: notify"
    assert lost["breach_suspected"] is True
    assert lost["priority"] == "P1"  # a suspected PHI breach is P1
    assert rows[PHISH_TITLE]["outcome"] is None  # shown as "not yet assessed"
    assert report.summary == [
        "2 security incidents",
        "1 not yet assessed",
        "1 confirmed breach",
        "1 assessed as high risk",
    ]
    pending = reports.security_incidents(reviewed.hospital.auditor, outcome="pending")
    assert [r["title"] for r in _rows(pending)] == [PHISH_TITLE]
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert _rows(reports.security_incidents(reviewed.hospital.auditor, since=tomorrow)) == []


def test_security_incidents_follow_the_desks_clearance_rule(
    reviewed: Reviewed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were an agent given the reports, he would still see no security incident he is not
    cleared for: the report asks the desk's Ticket.visible_to, not a rule of its own."""
    agent = reviewed.hospital.agent
    with pytest.raises(Forbidden):
        reports.security_incidents(agent)
    monkeypatch.setitem(ROLE_PERMS, "agent", ROLE_PERMS["agent"] | {Perm.COMPLIANCE_VIEW})
    assert _rows(reports.security_incidents(agent)) == []
    phi_views = reports.phi_views(agent, **_last_days())
    assert phi_views.tables[0].total == 0
    QueueMember.objects.create(queue=Queue.objects.get(code="SECURITY"), user=agent)
    assert {r["title"] for r in _rows(reports.security_incidents(agent))} == {
        SEC_TITLE,
        PHISH_TITLE,
    }


def test_a_flagged_security_incident_is_in_phi_views_only_for_the_cleared(
    reviewed: Reviewed, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = reviewed.hospital
    Ticket.objects.filter(pk=reviewed.lost_phone.pk).update(phi_flagged=True)
    tickets.record_view(h.manager, reviewed.lost_phone)
    seen = [r["ticket"] for r in _rows(reports.phi_views(h.auditor, **_last_days()))]
    assert seen == [reviewed.lost_phone.number]
    monkeypatch.setitem(ROLE_PERMS, "agent", ROLE_PERMS["agent"] | {Perm.COMPLIANCE_VIEW})
    assert _rows(reports.phi_views(h.agent, **_last_days())) == []


# --- BAAs ----------------------------------------------------------------------------------


def _vendor(name: str, *items: tuple[str, str]) -> Vendor:
    vendor = Vendor.objects.create(name=name)
    ehr = ClinicalService.objects.get(code="EHR")
    for item_name, item_type in items:
        item = ConfigItem.objects.create(name=item_name, item_type=item_type, vendor=vendor)
        ServiceComponent.objects.create(service=ehr, item=item)
    return vendor


def _baa(vendor: Vendor, status: str, signed: int | None, expires: int | None) -> Baa:
    today = timezone.localdate()
    return Baa.objects.create(
        vendor=vendor,
        status=status,
        signed_on=None if signed is None else today + timedelta(days=signed),
        expires_on=None if expires is None else today + timedelta(days=expires),
        subcontractors=["Cloudhost"] if status == "active" else [],
    )


def test_baa_status_for_every_vendor_handling_phi(reviewed: Reviewed) -> None:
    meridian = _vendor("Meridian Health", ("EHR-APP", "application"))
    _baa(meridian, "active", -700, 400)
    clearview = _vendor("Clearview Imaging", ("PACS-DB", "database"))
    _baa(clearview, "active", -600, 12)
    lablink = _vendor("LabLink", ("LAB-IF", "interface"))
    _baa(lablink, "active", -1200, -20)  # marked active, but past its end
    _baa(_vendor("Draftco"), "draft", None, None)
    _vendor("Infusia Medical", ("Pump 7", "medical_device"))
    _vendor("NetCore Networks", ("CORE-SW1", "network_device"))  # a conduit: no PHI kept
    courier = _vendor("Courier Repairs")
    Ticket.objects.filter(pk=reviewed.phi_ticket.pk).update(vendor=courier)
    report = reports.baa_status(reviewed.hospital.manager)
    rows = _rows(report)
    by_vendor = _by(rows, "vendor")
    assert "NetCore Networks" not in by_vendor
    assert [(r["vendor"], r["baa_status"]) for r in rows] == [
        ("Courier Repairs", "missing"),
        ("Infusia Medical", "missing"),
        ("LabLink", "expired"),
        ("Draftco", "draft"),
        ("Clearview Imaging", "expiring"),
        ("Meridian Health", "active"),
    ]
    assert by_vendor["Courier Repairs"]["handles_phi"] == "handed 1 ticket holding PHI"
    assert by_vendor["Infusia Medical"]["handles_phi"] == "supplies Pump 7"
    assert by_vendor["Meridian Health"]["handles_phi"] == "BAA on record; supplies EHR-APP"
    assert by_vendor["Clearview Imaging"]["days_left"] == 12
    assert by_vendor["Meridian Health"]["subcontractors"] == "Cloudhost"
    assert report.summary == [
        "6 vendors handling PHI",
        "2 with a BAA in force",
        "1 expiring within 30 days",
        "4 without a BAA in force",
    ]
    needing_action = _rows(reports.baa_status(reviewed.hospital.manager, problems=True))
    assert "Meridian Health" not in {r["vendor"] for r in needing_action}
    assert len(needing_action) == 5


def test_a_renewed_baa_is_the_one_shown(reviewed: Reviewed) -> None:
    vendor = _vendor("Meridian Health", ("EHR-APP", "application"))
    _baa(vendor, "expired", -1500, -400)
    _baa(vendor, "active", -400, 300)
    [row] = _rows(reports.baa_status(reviewed.hospital.auditor))
    assert row["baa_status"] == "active"
    assert row["days_left"] == 300


# --- who may read them ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["nurse", "agent", "engineer", "outsider"])
def test_only_managers_auditors_and_admins_may_build_a_report(
    reviewed: Reviewed, role: str
) -> None:
    person = getattr(reviewed.hospital, role)
    for name in reports.REPORTS:
        with pytest.raises(Forbidden):
            reports.build(person, name, {})
    for allowed in ("manager", "auditor", "admin"):
        report, _ = reports.build(getattr(reviewed.hospital, allowed), "baa-status", {})
        assert report.name == "baa-status"
