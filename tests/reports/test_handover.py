"""The end-of-shift handover: open tickets by priority with their latest note, unresolved
incidents, notes for the next shift, changes planned overnight; emailed once per site and
shift end; printable.

Bad input tried: an empty note, a note one character too long, a note for an unknown site,
a requester reading the handover or leaving a note.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from careline.core.models import AuditEvent, Site
from careline.oncall.models import Notification
from careline.reports.morning import services
from careline.reports.morning.handover import build_handover
from careline.reports.morning.models import NOTES_MAX, HandoverNote, HandoverSent
from careline.servicedesk.models import Ticket
from tests.conftest import PASSWORD, Hospital
from tests.reports.morning_setup import change, detected, monitor, note, ticket

# Tuesday 10 March 2026, 18:30 in New York (EDT): the day shift ends at 19:00 (23:00 UTC).
EVENING = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
SHIFT_END = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
SECRET_TITLE = "Phishing email opened on the ICU desk PC"


@pytest.fixture
def shift(hospital: Hospital, settings: Any) -> dict[str, Any]:
    settings.MORNING_CHECK_TO = ["desk@northgate.example"]
    h = hospital
    start = EVENING - timedelta(hours=10)
    p1 = ticket(h.nurse, start, "Infusion pump library not syncing", care_effect="blocked")
    note(p1, start + timedelta(hours=1), "Vendor called, first try failed.", h.agent)
    note(p1, start + timedelta(hours=2), "Vendor sending an engineer at 21:00.", h.engineer)
    p3 = ticket(h.agent, start, "Slow login on ward PCs", department="NG-IT")
    done = ticket(h.nurse, start, "Printer jam", department="NG-IT")
    Ticket.objects.filter(pk=done.pk).update(status="resolved")
    ticket(h.nurse, start, SECRET_TITLE, kind="security", phi_breach_suspected=True)
    ticket(h.outsider, start, "Riverside ward PC", department="RV-W1", care_effect="blocked")
    major = ticket(h.agent, start, "EHR slow everywhere", care_effect="blocked", scope="site")
    Ticket.objects.filter(pk=major.pk).update(is_major=True)
    with time_machine.travel(start, tick=False):
        link = monitor("HL7 feed to lab", "down", service="EHR")
        change(
            "CHG-000010",
            "Overnight EHR patch",
            SHIFT_END + timedelta(hours=4),
            2,
            h.manager,
            "approved",
        )
        change(
            "CHG-000011",
            "Tomorrow afternoon work",
            SHIFT_END + timedelta(hours=20),
            2,
            h.manager,
            "scheduled",
        )
    detected(p3, link, start + timedelta(hours=3))
    return {"p1": p1, "p3": p3, "major": major}


def _north() -> Site:
    return Site.objects.get(code="NORTH")


def test_the_handover_for_an_agent(shift: dict[str, Any], hospital: Hospital) -> None:
    HandoverNote.objects.create(
        site=_north(),
        author=hospital.agent,
        text="Pump vendor engineer arrives 21:00; meet at ICU.",
        created_at=EVENING,
        shift_starts_at=SHIFT_END,
    )
    report = build_handover(_north(), EVENING, hospital.agent)
    assert (report.shift_start, report.shift_end) == (SHIFT_END - timedelta(hours=12), SHIFT_END)
    assert report.next_end == SHIFT_END + timedelta(hours=12)
    groups = {g.priority: g for g in report.groups}
    p1 = {t.title: t for t in groups["P1"].tickets.items}
    assert set(p1) == {"Infusion pump library not syncing", "EHR slow everywhere"}
    # The latest of its two notes.
    assert p1["Infusion pump library not syncing"].note == "Vendor sending an engineer at 21:00."
    assert p1["Infusion pump library not syncing"].note_by == "sam"
    assert [t.title for t in groups["P3"].tickets.items] == ["Slow login on ward PCs"]
    # Not the resolved one, not Riverside's, not the security incident (no clearance).
    assert report.open_total == 3
    assert report.security_left_out is True
    assert {(i.number, i.source) for i in report.incidents.items} == {
        (shift["p3"].number, "monitor"),
        (shift["major"].number, "major"),
    }
    assert [n.text for n in report.notes_for_next] == [
        "Pump vendor engineer arrives 21:00; meet at ICU."
    ]
    assert [c.number for c in report.changes.items] == ["CHG-000010"]


def test_a_cleared_manager_sees_the_security_incident(
    shift: dict[str, Any], hospital: Hospital
) -> None:
    report = build_handover(_north(), EVENING, hospital.manager)
    titles = {t.title for g in report.groups for t in g.tickets.items}
    assert SECRET_TITLE in titles


def test_the_handover_reads_a_fixed_number_of_queries(
    shift: dict[str, Any], hospital: Hospital
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            build_handover(_north(), EVENING, hospital.agent)
        return len(captured.captured_queries)

    before = count()
    for n in range(30):
        made = ticket(hospital.nurse, EVENING - timedelta(hours=1), f"Cart {n}", department="NG-IT")
        note(made, EVENING - timedelta(minutes=n), f"Looked at cart {n}", hospital.agent)
    assert count() == before


def test_notes_for_the_next_shift_through_the_api(
    shift: dict[str, Any], hospital: Hospital, api_as: Any
) -> None:
    assert api_as(hospital.nurse).post("/handover/notes", {"text": "hi"}).status_code == 403
    priya = api_as(hospital.agent)
    with time_machine.travel(EVENING, tick=False):
        made = priya.post("/handover/notes", {"text": "  Check the pump at 21:00.  "})
        assert made.status_code == 201, made.content
        assert made.json()["text"] == "Check the pump at 21:00."
        assert made.json()["shift_starts_at"].startswith("2026-03-10T23:00:00")
        read = priya.get("/handover", site="NORTH")
    assert read.status_code == 200
    assert [n["text"] for n in read.json()["notes_for_next"]] == ["Check the pump at 21:00."]
    assert SECRET_TITLE not in read.content.decode()
    event = AuditEvent.objects.get(action="handover_note.added")
    assert event.actor_name == "priya"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"text": "   "}, 422, "text"),  # nothing but spaces
        ({"text": "x" * (NOTES_MAX + 1)}, 422, "text"),  # one character too long
        ({"text": "ok", "site": "NOWHERE"}, 404, "site"),  # unknown site
        ({}, 422, "text"),  # no text at all
    ],
)
def test_bad_notes_are_refused_and_nothing_is_written(
    hospital: Hospital, api_as: Any, body: Any, status: int, field: str
) -> None:
    answer = api_as(hospital.agent).post("/handover/notes", body)
    assert answer.status_code == status
    assert field in answer.json()["detail"]
    assert not HandoverNote.objects.exists()


def test_each_shift_end_is_emailed_once(shift: dict[str, Any]) -> None:
    at = SHIFT_END + timedelta(minutes=1)
    with time_machine.travel(at, tick=False):
        assert services.run_due(at)[1] == 1
        assert services.run_due(at + timedelta(minutes=1))[1] == 0
        assert services.send_handover(_north(), at + timedelta(minutes=2)) is False
    sent = HandoverSent.objects.get(site__code="NORTH")
    assert sent.shift_ends_at == SHIFT_END
    mail = Notification.objects.get(idempotency_key__startswith="handover:NORTH:")
    assert mail.subject.startswith("Handover, Northgate Medical Center, 19:00 Tue 10 Mar")
    assert "Infusion pump library not syncing" in mail.body
    assert "Vendor sending an engineer at 21:00." in mail.body
    assert SECRET_TITLE not in mail.body
    assert "CHG-000010" in mail.body
    # Riverside's shift ends at 19:00 Chicago time, an hour later.
    assert not HandoverSent.objects.filter(site__code="RIVER").exists()
    later = SHIFT_END + timedelta(hours=1, minutes=1)
    with time_machine.travel(later, tick=False):
        assert services.run_due(later)[1] == 1
    assert HandoverSent.objects.get(site__code="RIVER").shift_ends_at == SHIFT_END + timedelta(
        hours=1
    )


def test_the_page_adds_a_note_and_prints(shift: dict[str, Any], hospital: Hospital) -> None:
    client = Client()
    client.force_login(hospital.agent)
    with time_machine.travel(EVENING, tick=False):
        page = client.get("/handover/")
        assert page.status_code == 200
        html = page.content.decode()
        assert "Vendor sending an engineer at 21:00." in html
        assert "@media print" in html
        assert SECRET_TITLE not in html
        empty = client.post("/handover/notes/", {"site": "NORTH", "text": ""})
        assert empty.status_code == 422
        assert "text: must not be empty" in empty.content.decode()
        added = client.post("/handover/notes/", {"site": "NORTH", "text": "Lab feed flapping."})
        assert added.status_code == 302
        assert "Lab feed flapping." in client.get("/handover/").content.decode()
        pdf = client.get("/handover/pdf/?site=NORTH")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="handover.exported").count() == 1


def test_a_requester_may_not_open_the_handover(hospital: Hospital) -> None:
    client = Client()
    assert client.login(username="maria", password=PASSWORD)
    assert client.get("/handover/").status_code == 403
    assert client.post("/handover/notes/", {"text": "x"}).status_code == 403
    assert client.get("/handover/pdf/").status_code == 403
    assert not HandoverNote.objects.exists()
