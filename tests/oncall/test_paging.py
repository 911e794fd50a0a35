"""Paging: an urgent ticket wakes the person on call the way they asked, escalation goes on
until someone acknowledges, an alert storm pages once, low priorities wait for business hours,
and the signed acknowledgement link works once for the right person and is refused otherwise.

Bad input tried: forged, tampered, expired and foreign acknowledgement links (refused with 403
and audited); acknowledging a resolved page (409); pages by hand with a blank title, an
unknown priority, an unknown policy or service; requesters and auditors answering pages (403).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careline.core.models import AuditEvent, ClinicalService
from careline.oncall import acklinks
from careline.oncall.models import (
    DeliveryStatus,
    EscalationLevel,
    EscalationPolicy,
    Notification,
    Page,
    PageStatus,
)
from careline.oncall.services import answers, paging
from careline.servicedesk.services import lifecycle, tickets
from careline.servicedesk.services import oncall as desk_oncall
from tests.conftest import Hospital
from tests.oncall.paging_setup import OnCall, sent_to, set_up
from tests.servicedesk.conftest import draft

NEW_YORK = ZoneInfo("America/New_York")
# A Tuesday, 03:00 in New York: the middle of the night.
NIGHT = datetime(2026, 12, 8, 3, 0, tzinfo=NEW_YORK)


@pytest.fixture
def oncall(hospital: Hospital) -> OnCall:
    return set_up(hospital)


def _p1(hospital: Hospital, **overrides: Any) -> Any:
    # Care blocked in the ED (a critical area): P1.
    values = {"care_effect": "blocked", "title": "EHR will not open in the ED"}
    values.update(overrides)
    return tickets.create_ticket(hospital.nurse, draft(**values))


def _escalate(at: datetime) -> int:
    return answers.escalate_due(at)


def test_a_p1_ticket_texts_the_engineer_on_call_and_calls_after_two_minutes(
    oncall: OnCall,
) -> None:
    sam = oncall.hospital.engineer
    with time_machine.travel(NIGHT, tick=False):
        ticket = _p1(oncall.hospital)
        page = Page.objects.get()
        texts = sent_to(sam)
    assert ticket.priority == "P1"
    assert (page.priority, page.status, page.policy, page.source) == (
        "P1",
        PageStatus.TRIGGERED,
        oncall.policy,
        "ticket",
    )
    assert [(n.channel, n.to, n.next_attempt_at - page.created_at) for n in texts] == [
        ("sms", "+15555550101", timedelta(0)),
        ("voice", "+15555550101", timedelta(minutes=2)),
    ]
    sms = texts[0]
    assert ticket.number in sms.body
    assert "/oncall/ack/" in sms.body
    assert page.next_escalation_at == page.created_at + timedelta(minutes=5)
    paged = AuditEvent.objects.get(action="oncall.paged")
    assert "sam: sms, voice after 2 min" in paged.summary
    # Nobody else was paged at the first level.
    assert not Notification.objects.filter(page=page).exclude(recipient=sam).exists()


def test_unanswered_pages_escalate_repeat_and_finally_tell_the_manager_named(
    oncall: OnCall,
) -> None:
    hospital = oncall.hospital
    with time_machine.travel(NIGHT, tick=False):
        _p1(hospital)
    page = Page.objects.get()
    start = page.created_at
    assert _escalate(start + timedelta(minutes=4)) == 0
    assert _escalate(start + timedelta(minutes=5)) == 1
    helen = sent_to(hospital.manager, page=page)
    assert [(n.channel, n.to) for n in helen] == [("email", "helen@northgate.example")]
    assert _escalate(start + timedelta(minutes=10)) == 1  # round 2: Sam again
    page.refresh_from_db()
    assert (page.level, page.round) == (0, 1)
    assert len(sent_to(hospital.engineer, page=page)) == 4
    assert _escalate(start + timedelta(minutes=15)) == 1  # Helen again
    assert _escalate(start + timedelta(minutes=20)) == 1  # out of levels: the final person
    alex = sent_to(hospital.admin, page=page)
    assert len(alex) == 1
    page.refresh_from_db()
    assert page.next_escalation_at is None
    assert _escalate(start + timedelta(hours=2)) == 0
    assert AuditEvent.objects.filter(action="oncall.exhausted", object_id=str(page.pk)).count() == 1
    # Every message of the page is unique: nothing was paged twice at one step.
    keys = list(Notification.objects.filter(page=page).values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 1 + 2 + 1 + 2 + 1 + 1 - 1


def test_the_signed_link_acknowledges_stops_escalation_and_cancels_the_call(
    oncall: OnCall,
) -> None:
    sam = oncall.hospital.engineer
    with time_machine.travel(NIGHT, tick=False):
        _p1(oncall.hospital)
        page = Page.objects.get()
        link = acklinks.make_url(page.pk, sam.pk, "acknowledge")
    path = link.split("://", 1)[1].split("/", 1)[1]
    browser = Client(enforce_csrf_checks=True)  # nobody is signed in: the link is enough
    with time_machine.travel(page.created_at + timedelta(minutes=1), tick=False):
        shown = browser.get(f"/{path}")
        assert shown.status_code == 200
        assert b"Acknowledge as Sam" in shown.content
        page.refresh_from_db()
        assert page.status == PageStatus.TRIGGERED  # opening the link alone does nothing
        token = shown.cookies["csrftoken"].value
        answered = browser.post(f"/{path}", {"csrfmiddlewaretoken": token})
    assert answered.status_code == 200
    assert b"Escalation has stopped" in answered.content
    page.refresh_from_db()
    assert (page.status, page.acknowledged_by) == (PageStatus.ACKNOWLEDGED, sam)
    voice = Notification.objects.get(page=page, channel="voice")
    assert voice.status == DeliveryStatus.CANCELLED
    assert _escalate(page.created_at + timedelta(hours=1)) == 0
    event = AuditEvent.objects.get(action="oncall.acknowledged")
    assert "by sam via link" in event.summary
    # The text not yet handed to the gateway and the call due in a minute: neither is needed.
    assert "2 waiting messages cancelled" in event.summary


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="forged"),
        pytest.param(lambda t: "not-a-token", id="garbage"),
    ],
)
def test_forged_links_are_refused_and_audited(oncall: OnCall, tamper: Any) -> None:
    with time_machine.travel(NIGHT, tick=False):
        _p1(oncall.hospital)
    page = Page.objects.get()
    token = tamper(acklinks.make_token(page.pk, oncall.hospital.engineer.pk, "acknowledge"))
    answer = Client().post(f"/oncall/ack/{token}/")
    assert answer.status_code == 403
    page.refresh_from_db()
    assert page.status == PageStatus.TRIGGERED
    refused = AuditEvent.objects.get(action="oncall.ack_link_refused")
    assert "signature is not valid" in refused.summary


def test_an_expired_link_is_refused_and_audited(oncall: OnCall, settings: Any) -> None:
    with time_machine.travel(NIGHT, tick=False):
        _p1(oncall.hospital)
        page = Page.objects.get()
        token = acklinks.make_token(page.pk, oncall.hospital.engineer.pk, "acknowledge")
    with time_machine.travel(NIGHT + timedelta(hours=settings.ONCALL_ACK_LINK_HOURS, seconds=5)):
        answer = Client().get(f"/oncall/ack/{token}/")
    assert answer.status_code == 403
    assert b"expired" in answer.content
    assert AuditEvent.objects.filter(action="oncall.ack_link_refused").count() == 1


def test_a_link_for_another_page_cannot_be_reused(oncall: OnCall) -> None:
    """The signature covers the page id: changing it inside the token breaks the signature."""
    with time_machine.travel(NIGHT, tick=False):
        _p1(oncall.hospital)
        _p1(oncall.hospital, service="PRINT", title="Label printer down in ED")
    first, second = Page.objects.order_by("id")
    token = acklinks.make_token(first.pk, oncall.hospital.engineer.pk, "acknowledge")
    claim = acklinks.read_token(token)
    assert claim.page_id == first.pk
    with pytest.raises(acklinks.RefusedLink):
        acklinks.read_token(token.replace(str(first.pk), str(second.pk), 1) + "x")


def test_an_alert_storm_on_one_service_pages_once_with_the_list(oncall: OnCall) -> None:
    hospital = oncall.hospital
    ClinicalService.objects.create(code="PACS", name="Picture archive", tier=1)
    with time_machine.travel(NIGHT, tick=False) as clock:
        for n in range(12):
            _p1(hospital, service="PACS", title=f"PACS viewer fails on workstation {n}")
            clock.shift(timedelta(seconds=10))
    page = Page.objects.get()
    assert page.incident_count == 12
    assert page.items.count() == 12
    first_level = Notification.objects.filter(page=page)
    assert first_level.count() == 2  # Sam's text and the delayed call, for the first only
    joined = AuditEvent.objects.filter(action="oncall.page_joined")
    assert joined.count() == 11
    # The escalation's message lists every incident of the storm.
    _escalate(page.created_at + timedelta(minutes=5))
    helen = sent_to(hospital.manager, page=page)[0]
    assert "(12 incidents)" in helen.subject
    listed = [line for line in helen.body.splitlines() if line.startswith("- INC-")]
    assert len(listed) == 12


def test_joining_a_storm_is_a_few_statements_in_the_tickets_transaction(oncall: OnCall) -> None:
    """In a storm every report passes here: the page it joins is found in one query, and the
    new ticket's audit events (its own and the join) take the chain's lock once."""
    hospital = oncall.hospital
    ClinicalService.objects.create(code="PACS", name="Picture archive", tier=1)
    with time_machine.travel(NIGHT, tick=False):
        _p1(hospital, service="PACS", title="PACS viewer fails on workstation 1")
        with CaptureQueriesContext(connection) as queries:
            joined = _p1(hospital, service="PACS", title="PACS viewer fails on workstation 2")
    paging = [q["sql"] for q in queries if "oncall_page" in q["sql"]]
    assert len(paging) == 4, paging  # find the page, add the item, count it, its keys
    # The chain's end is read once (PostgreSQL: with its lock, in careline_audit_tail()).
    ends = [q for q in queries if "FROM core_auditevent" in q["sql"] or "audit_tail" in q["sql"]]
    assert len(ends) == 1
    # Paging is part of the ticket's transaction, not a savepoint within it. (The ticket's
    # transaction is itself one savepoint here, inside the test's transaction.)
    savepoints = [q for q in queries if q["sql"].upper().startswith("SAVEPOINT")]
    assert len(savepoints) == 1, [q["sql"][:60] for q in queries]
    page = Page.objects.get()
    assert page.incident_count == 2
    assert page.items.filter(ticket=joined).exists()
    actions = AuditEvent.objects.order_by("-id").values_list("action", flat=True)[:2]
    assert list(actions) == ["ticket.create", "oncall.page_joined"]


def test_a_page_closed_between_finding_and_joining_it_is_not_joined(
    oncall: OnCall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The storm's page is found without a lock; if it is resolved before the join, the new
    problem opens a page of its own instead of vanishing into a closed one."""
    hospital = oncall.hospital
    ClinicalService.objects.create(code="PACS", name="Picture archive", tier=1)
    with time_machine.travel(NIGHT, tick=False):
        _p1(hospital, service="PACS", title="PACS viewer fails on workstation 1")
        first = Page.objects.get()
        found_open = Page.objects.get(pk=first.pk)  # as the unlocked look saw it
        real_target = paging._target
        looks: list[bool] = []

        def resolved_meanwhile(*args: Any) -> Any:
            if not looks:
                looks.append(True)
                Page.objects.filter(pk=first.pk).update(status=PageStatus.RESOLVED)
                return found_open, False
            return real_target(*args)

        monkeypatch.setattr(paging, "_target", resolved_meanwhile)
        second = _p1(hospital, service="PACS", title="PACS viewer fails on workstation 2")
    first.refresh_from_db()
    assert first.incident_count == 1
    assert not first.items.filter(ticket=second).exists()
    opened = Page.objects.exclude(pk=first.pk).get()
    assert opened.items.get().ticket == second
    assert Notification.objects.filter(page=opened).exists()  # somebody is paged for it


def test_an_incident_after_the_storm_window_pages_again(oncall: OnCall, settings: Any) -> None:
    with time_machine.travel(NIGHT, tick=False) as clock:
        _p1(oncall.hospital, service="EHR")
        clock.shift(timedelta(seconds=settings.ONCALL_STORM_WINDOW_SECONDS + 1))
        _p1(oncall.hospital, service="EHR")
    assert Page.objects.count() == 2


def test_a_low_priority_problem_emails_when_business_hours_open(oncall: OnCall) -> None:
    hospital = oncall.hospital
    with time_machine.travel(NIGHT, tick=False):
        ticket = tickets.create_ticket(
            hospital.nurse, draft(care_effect="none", scope="department")
        )
        assert ticket.priority == "P3"
        # A P3 does not page on its own; monitoring asks for every priority.
        assert not Page.objects.exists()
        outcome = desk_oncall.page_for_ticket(ticket, every_priority=True)
    assert outcome is not None
    page = outcome.page
    assert page.urgency == "business_hours"
    assert page.next_escalation_at is None
    messages = Notification.objects.filter(page=page)
    assert [m.channel for m in messages] == ["email"]  # never a night-time text for a P3
    assert timezone.localtime(messages[0].next_attempt_at, NEW_YORK) == datetime(
        2026, 12, 8, 8, 0, tzinfo=NEW_YORK
    )


def test_resolving_the_ticket_resolves_its_page(oncall: OnCall) -> None:
    hospital = oncall.hospital
    with time_machine.travel(NIGHT, tick=False):
        ticket = _p1(hospital)
        lifecycle.change_status(
            hospital.agent, ticket.pk, "resolved", resolution_code="fixed", resolution_notes="ok"
        )
    page = Page.objects.get()
    assert (page.status, page.resolved_by) == (PageStatus.RESOLVED, None)
    assert Notification.objects.get(page=page, channel="voice").status == DeliveryStatus.CANCELLED
    assert _escalate(NIGHT + timedelta(hours=1)) == 0


def test_a_page_whose_incidents_are_not_all_resolved_stays_open(oncall: OnCall) -> None:
    hospital = oncall.hospital
    with time_machine.travel(NIGHT, tick=False):
        first = _p1(hospital, service="EHR")
        _p1(hospital, service="EHR", title="EHR slow on ward 3")
        lifecycle.change_status(
            hospital.agent, first.pk, "resolved", resolution_code="fixed", resolution_notes="ok"
        )
    assert Page.objects.get().status == PageStatus.TRIGGERED


def test_nobody_on_call_moves_straight_to_the_next_level(oncall: OnCall) -> None:
    oncall.schedule.layers.all().delete()
    with time_machine.travel(NIGHT, tick=False):
        _p1(oncall.hospital)
    page = Page.objects.get()
    assert page.next_escalation_at == page.created_at
    assert _escalate(page.created_at) == 1
    assert sent_to(oncall.hospital.manager, page=page)
    assert AuditEvent.objects.filter(action="oncall.nobody").count() == 1


def test_a_level_may_hand_over_to_another_policy(oncall: OnCall) -> None:
    hospital = oncall.hospital
    network = EscalationPolicy.objects.create(
        code="NETWORK", name="Network team", repeat=0, created_at=timezone.now()
    )
    EscalationLevel.objects.create(
        policy=network, position=1, target_kind="person", user=hospital.agent, wait_minutes=3
    )
    EscalationLevel.objects.filter(policy=oncall.policy, position=2).update(
        target_kind="policy", user=None, handover=network
    )
    with time_machine.travel(NIGHT, tick=False):
        _p1(hospital)
    page = Page.objects.get()
    _escalate(page.created_at + timedelta(minutes=5))
    page.refresh_from_db()
    assert page.current_policy == network
    assert sent_to(hospital.agent, page=page)
    assert page.next_escalation_at == page.created_at + timedelta(minutes=8)


def test_a_ticket_flagged_for_patient_details_pages_with_its_number_only(oncall: OnCall) -> None:
    with time_machine.travel(NIGHT, tick=False):
        ticket = _p1(
            oncall.hospital,
            title="Cannot chart for MRN 12345678 John Smith",
            description="DOB 01/02/1950",
        )
    assert ticket.phi_flagged
    for message in Notification.objects.filter(page__isnull=False):
        assert "John Smith" not in message.body + message.subject
        assert "12345678" not in message.body + message.subject
        assert ticket.number in message.body + message.subject
    assert "John Smith" not in Page.objects.get().items.get().title


def test_pages_api_lists_reads_acknowledges_and_resolves(oncall: OnCall, api_as: Any) -> None:
    hospital = oncall.hospital
    with time_machine.travel(NIGHT, tick=False):
        _p1(hospital)
    page = Page.objects.get()
    engineer = api_as(hospital.engineer)
    listed = engineer.get("/oncall/pages", status="open").json()
    assert [p["id"] for p in listed["items"]] == [page.pk]
    detail = engineer.get(f"/oncall/pages/{page.pk}").json()
    assert [(d["recipient"], d["channel"], d["level"]) for d in detail["deliveries"]] == [
        ("sam", "sms", 1),
        ("sam", "voice", 1),
    ]
    assert api_as(hospital.nurse).post(f"/oncall/pages/{page.pk}/acknowledge").status_code == 403
    assert api_as(hospital.auditor).post(f"/oncall/pages/{page.pk}/acknowledge").status_code == 403
    assert api_as(hospital.auditor).get(f"/oncall/pages/{page.pk}").status_code == 200
    acked = engineer.post(f"/oncall/pages/{page.pk}/acknowledge")
    assert acked.status_code == 200
    assert (acked.json()["status"], acked.json()["acknowledged_by"]) == ("acknowledged", "sam")
    again = engineer.post(f"/oncall/pages/{page.pk}/acknowledge")
    assert again.json()["acknowledged_by"] == "sam"
    resolved = api_as(hospital.manager).post(f"/oncall/pages/{page.pk}/resolve").json()
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "helen")
    late = engineer.post(f"/oncall/pages/{page.pk}/acknowledge")
    assert late.status_code == 409
    assert engineer.get("/oncall/pages/999999").status_code == 404


# Incidents per storm page in the list test below.
STORM_SIZES = {"EHR": 1, "PACS": 3, "LIS": 2}


def test_page_lists_count_each_pages_incidents_in_their_own_query(
    oncall: OnCall, api_as: Any
) -> None:
    hospital = oncall.hospital
    with time_machine.travel(NIGHT, tick=False) as clock:
        for service, size in STORM_SIZES.items():
            ClinicalService.objects.get_or_create(
                code=service, defaults={"name": service, "tier": 1}
            )
            for n in range(size):
                _p1(hospital, service=service, title=f"{service} down on workstation {n}")
                clock.shift(timedelta(seconds=5))
    engineer = api_as(hospital.engineer)
    with CaptureQueriesContext(connection) as queries:
        listed = engineer.get("/oncall/pages", status="open").json()
    assert {p["service"]: p["incident_count"] for p in listed["items"]} == STORM_SIZES
    # Counted in the list's own query, not once per page.
    assert not [
        q
        for q in queries
        if q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "oncall_pageitem"')
    ]
    one = Page.objects.get(service__code="PACS")
    assert engineer.get(f"/oncall/pages/{one.pk}").json()["incident_count"] == 3
    client = Client()
    client.force_login(hospital.engineer)
    html = client.get("/oncall/pages/").content.decode()
    for page in Page.objects.all():
        row = html.split(f'<tr data-page="{page.pk}">', 1)[1].split("</tr>", 1)[0]
        assert f"<td>{STORM_SIZES[page.service.code]}</td>" in row, row


def test_paging_a_team_by_hand_and_its_bad_input(oncall: OnCall, api_as: Any) -> None:
    engineer = api_as(oncall.hospital.engineer)
    before = AuditEvent.objects.count()
    bad = [
        ({"title": "  ", "policy": "CLINICAL"}, 422, "title"),
        (
            {"title": "PACS engineer please", "policy": "CLINICAL", "priority": "P9"},
            422,
            "priority",
        ),
        ({"title": "PACS engineer please", "policy": "NOPE"}, 404, "policy"),
        (
            {"title": "PACS engineer please", "policy": "CLINICAL", "service": "NOPE"},
            404,
            "service",
        ),
        ({"policy": "CLINICAL"}, 422, "title"),
    ]
    for body, status, field in bad:
        answer = engineer.post("/oncall/pages", body)
        assert answer.status_code == status, body
        assert field in answer.json()["detail"], body
    assert not Page.objects.exists()
    assert AuditEvent.objects.count() == before
    assert (
        api_as(oncall.hospital.nurse)
        .post("/oncall/pages", {"title": "x", "policy": "CLINICAL"})
        .status_code
        == 403
    )
    made = engineer.post("/oncall/pages", {"title": "Need PACS help", "policy": "CLINICAL"})
    assert made.status_code == 201
    assert made.json()["source"] == "manual"
    assert AuditEvent.objects.filter(action="oncall.paged_by_hand", actor=oncall.hospital.engineer)


def test_page_views_show_the_page_and_answer_it(oncall: OnCall) -> None:
    with time_machine.travel(NIGHT, tick=False):
        _p1(oncall.hospital)
    page = Page.objects.get()
    browser = Client()
    browser.force_login(oncall.hospital.engineer)
    listing = browser.get("/oncall/pages/")
    assert listing.status_code == 200
    assert b"EHR will not open" in listing.content
    shown = browser.get(f"/oncall/pages/{page.pk}/")
    assert b"Acknowledge" in shown.content
    assert b"sms" in shown.content.lower()
    assert browser.post(f"/oncall/pages/{page.pk}/acknowledge/").status_code == 302
    page.refresh_from_db()
    assert page.status == PageStatus.ACKNOWLEDGED
    nurse = Client()
    nurse.force_login(oncall.hospital.nurse)
    assert nurse.get(f"/oncall/pages/{page.pk}/").status_code == 403


def test_a_ticket_raised_to_p1_pages_then_and_only_once(oncall: OnCall) -> None:
    hospital = oncall.hospital
    with time_machine.travel(NIGHT, tick=False):
        ticket = tickets.create_ticket(hospital.nurse, draft(care_effect="none"))
        assert ticket.priority == "P4"
        assert not Page.objects.exists()
        raised = tickets.update_ticket(
            hospital.agent, ticket.pk, ticket.version, {"care_effect": "blocked"}
        )
        assert raised.priority == "P1"
        assert Page.objects.get().items.get().ticket_id == ticket.pk
        tickets.override_priority(hospital.agent, ticket.pk, "P2", "one bay only", raised.version)
        tickets.override_priority(hospital.agent, ticket.pk, "P1", "whole ED after all")
    assert Page.objects.count() == 1
    assert Notification.objects.filter(page__isnull=False, page_level=0).count() == 2
