"""The service desk's side: naming the failed item re-triages the ticket from its clinical
impact; a ticket holding PHI goes only to a vendor with an active BAA."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from careline.cmdb.services import vendors
from careline.core.models import AuditEvent
from careline.servicedesk.models import Ticket
from careline.servicedesk.services.tickets import create_ticket
from tests.cmdb.conftest import Cmdb
from tests.servicedesk.conftest import draft
from tests.servicedesk.test_views import client_for, html, text


def test_picking_the_failed_item_raises_priority_from_its_impact_with_the_reason(
    cmdb: Cmdb, api_as: Any
) -> None:
    # A clerk at Riverside reports something slow for one person: P4 as reported.
    ticket = create_ticket(
        cmdb.hospital.outsider,
        draft(department="RV-W1", care_effect="none", scope="person", title="EHR slow"),
    )
    assert ticket.priority == "P4"

    answer = api_as(cmdb.hospital.agent).post(
        f"/tickets/{ticket.pk}/config-item", {"item": cmdb.esx1.pk, "version": ticket.version}
    )

    assert answer.status_code == 200, answer.content
    body = answer.json()
    # ESX-1 failing blocks care in the ED (critical) through the EHR database.
    assert body["priority"] == "P1"
    assert body["care_effect"] == "blocked"
    assert body["scope"] == "enterprise"
    assert body["service"] == "EHR"
    assert body["config_item"] == cmdb.esx1.pk
    assert "ESX-1 failing affects Electronic health record (down)" in body["priority_reason"]
    saved = Ticket.objects.get(pk=ticket.pk)
    assert saved.config_item_id == cmdb.esx1.pk
    assert saved.respond_by < ticket.respond_by  # P1 clocks
    assert AuditEvent.objects.filter(action="ticket.config_item", object_id=str(ticket.pk)).exists()


def test_an_agents_override_stands_and_a_stale_version_or_missing_item_is_refused(
    cmdb: Cmdb, api_as: Any
) -> None:
    ticket = create_ticket(cmdb.hospital.nurse, draft(care_effect="none", scope="person"))
    api = api_as(cmdb.hospital.agent)
    stale = api.post(f"/tickets/{ticket.pk}/config-item", {"item": cmdb.esx1.pk, "version": 99})
    assert stale.status_code == 409
    assert "version" in stale.json()["detail"]
    missing = api.post(f"/tickets/{ticket.pk}/config-item", {"item": 424242})
    assert missing.status_code == 422
    assert missing.json()["field"] == "item"
    nurse = api_as(cmdb.hospital.nurse).post(
        f"/tickets/{ticket.pk}/config-item", {"item": cmdb.esx1.pk}
    )
    assert nurse.status_code == 403

    overridden = api.post(
        f"/tickets/{ticket.pk}/priority", {"priority": "P3", "reason": "vendor already on it"}
    )
    assert overridden.status_code == 200, overridden.content
    kept = api.post(f"/tickets/{ticket.pk}/config-item", {"item": cmdb.esx1.pk})
    assert kept.json()["priority"] == "P3"
    assert kept.json()["care_effect"] == "blocked"


def test_a_ticket_with_phi_is_refused_to_a_vendor_without_an_active_baa(
    cmdb: Cmdb, api_as: Any
) -> None:
    ticket = create_ticket(
        cmdb.hospital.nurse,
        draft(description="Results missing for MRN 12345678 since this morning."),
    )
    assert ticket.phi_flagged
    today = timezone.localdate()
    vendor = vendors.save_vendor(None, {"name": "LabLink Integration"})
    vendors.save_baa(
        None,
        {
            "vendor": vendor.pk,
            "status": "active",
            "signed_on": today - timedelta(days=800),
            "expires_on": today - timedelta(days=1),  # lapsed yesterday
        },
    )
    api = api_as(cmdb.hospital.agent)

    refused = api.post(f"/tickets/{ticket.pk}/vendor", {"vendor": vendor.pk})

    assert refused.status_code == 409
    assert refused.json()["field"] == "vendor"
    assert (
        "LabLink Integration has no active Business Associate Agreement" in refused.json()["detail"]
    )
    unchanged = Ticket.objects.get(pk=ticket.pk)
    assert unchanged.vendor_id is None
    assert unchanged.status == ticket.status

    vendors.save_baa(
        None,
        {
            "vendor": vendor.pk,
            "status": "active",
            "signed_on": today,
            "expires_on": today + timedelta(days=365),
        },
    )
    handed = api.post(f"/tickets/{ticket.pk}/vendor", {"vendor": vendor.pk})
    assert handed.status_code == 200, handed.content
    assert handed.json()["status"] == "waiting_vendor"
    assert handed.json()["vendor"] == vendor.pk


def test_a_ticket_without_phi_may_go_to_any_vendor(cmdb: Cmdb, api_as: Any) -> None:
    ticket = create_ticket(cmdb.hospital.nurse, draft())
    vendor = vendors.save_vendor(None, {"name": "NetCore Networks"})
    handed = api_as(cmdb.hospital.agent).post(f"/tickets/{ticket.pk}/vendor", {"vendor": vendor.pk})
    assert handed.status_code == 200, handed.content
    assert handed.json()["status"] == "waiting_vendor"
    unknown = api_as(cmdb.hospital.agent).post(f"/tickets/{ticket.pk}/vendor", {"vendor": 999})
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "vendor"


# --- the same from the ticket page -----------------------------------------------------------


def test_an_agent_names_the_failed_item_on_the_ticket_page(cmdb: Cmdb) -> None:
    ticket = create_ticket(cmdb.hospital.nurse, draft(care_effect="none", scope="person"))
    agent = client_for(cmdb.hospital.agent)
    page = html(agent.get(f"/tickets/{ticket.pk}/"))
    assert 'id="item-form"' in page

    unknown = agent.post(f"/tickets/{ticket.pk}/item/", {"item": "ESX-9", "version": 1})
    assert unknown.status_code == 422
    assert "no CMDB item is named &#x27;ESX-9&#x27;" in html(unknown)
    assert Ticket.objects.get(pk=ticket.pk).config_item_id is None

    named = agent.post(f"/tickets/{ticket.pk}/item/", {"item": "ESX-1", "version": 1}, follow=True)
    assert named.status_code == 200
    saved = Ticket.objects.get(pk=ticket.pk)
    assert (saved.config_item_id, saved.priority) == (cmdb.esx1.pk, "P1")
    shown = text(named)
    assert f"{ticket.number}: ESX-1 failed; P1" in shown
    assert f'href="/cmdb/items/{cmdb.esx1.pk}/"' in html(named)

    cleared = agent.post(f"/tickets/{ticket.pk}/item/", {"item": "", "version": saved.version})
    assert cleared.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).config_item_id is None


def test_the_ticket_page_refuses_a_phi_ticket_to_a_vendor_without_a_baa(cmdb: Cmdb) -> None:
    ticket = create_ticket(
        cmdb.hospital.nurse, draft(description="Results missing for MRN 12345678.")
    )
    vendor = vendors.save_vendor(None, {"name": "LabLink Integration"})
    agent = client_for(cmdb.hospital.agent)
    assert "only a vendor with an active BAA" in text(agent.get(f"/tickets/{ticket.pk}/"))
    refused = agent.post(f"/tickets/{ticket.pk}/vendor/", {"vendor": vendor.pk, "version": 1})
    assert refused.status_code == 409
    assert "has no active Business Associate Agreement" in text(refused)
    assert Ticket.objects.get(pk=ticket.pk).vendor_id is None
    requester = client_for(cmdb.hospital.nurse)
    assert 'id="vendor-form"' not in html(requester.get(f"/tickets/{ticket.pk}/"))
    denied = requester.post(f"/tickets/{ticket.pk}/vendor/", {"vendor": vendor.pk, "version": 1})
    assert denied.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).vendor_id is None
