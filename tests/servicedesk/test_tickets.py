"""Tickets through their life: opening, triage, routing, lifecycle, versions, visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from careline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import AuditEvent, ClinicalService, Site
from careline.servicedesk.models import Queue, QueueMember, RoutingRule, Ticket
from careline.servicedesk.services import lifecycle, relations, tickets
from careline.servicedesk.services.tickets import create_ticket
from tests.conftest import Hospital
from tests.servicedesk.conftest import draft

# A Tuesday night in New York (03:00 EST = 08:00 UTC).
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_the_icu_scanner_report_is_a_p2_with_a_thirty_minute_clock(desk: Hospital) -> None:
    with time_machine.travel(T0, tick=False):
        ticket = create_ticket(desk.nurse, draft())
    assert ticket.number == "INC-000001"
    assert ticket.priority == "P2"
    assert ticket.priority_reason == "Patient care degraded in a critical area (ED)"
    assert ticket.respond_by == T0 + timedelta(minutes=30)
    assert ticket.resolve_by == T0 + timedelta(hours=8)
    assert ticket.respond_warn_at == T0 + timedelta(minutes=22, seconds=30)
    assert ticket.site.code == "NORTH"
    assert ticket.queue is not None
    assert ticket.queue.code == "SERVICEDESK"
    assert ticket.assignee == desk.agent
    assert ticket.status == "assigned"
    event = AuditEvent.objects.get(action="ticket.create", object_id=str(ticket.pk))
    assert event.actor_name == "maria"
    assert "P2" in event.summary


def test_numbers_count_per_kind(desk: Hospital) -> None:
    numbers = [
        create_ticket(desk.nurse, draft(kind=k)).number
        for k in ("incident", "request", "incident", "security")
    ]
    assert numbers == ["INC-000001", "REQ-000001", "INC-000002", "SEC-000001"]


def test_round_robin_alternates_and_skips_people_off_shift(desk: Hospital) -> None:
    first = create_ticket(desk.nurse, draft()).assignee
    second = create_ticket(desk.nurse, draft()).assignee
    assert {first, second} == {desk.agent, desk.engineer}
    QueueMember.objects.filter(user=desk.engineer).update(on_shift=False)
    assert {create_ticket(desk.nurse, draft()).assignee for _ in range(3)} == {desk.agent}


def test_least_loaded_gives_to_whoever_has_fewest_open(desk: Hospital) -> None:
    Queue.objects.filter(code="SERVICEDESK").update(strategy="least_loaded")
    create_ticket(desk.nurse, draft())  # Priya (lowest id on a tie)
    assert create_ticket(desk.nurse, draft()).assignee == desk.engineer
    assert create_ticket(desk.nurse, draft()).assignee == desk.agent


def test_routing_rules_by_service_kind_site_and_keyword(desk: Hospital) -> None:
    clinapps = Queue.objects.get(code="CLINAPPS")
    desktop = Queue.objects.get(code="DESKTOP")
    RoutingRule.objects.create(
        order=10, queue=clinapps, service=ClinicalService.objects.get(code="EHR")
    )
    RoutingRule.objects.create(order=20, queue=desktop, keyword="printer")
    RoutingRule.objects.create(
        order=30, queue=desktop, site=Site.objects.get(code="RIVER"), kind="request"
    )
    assert create_ticket(desk.nurse, draft(service="EHR")).queue == clinapps
    assert create_ticket(desk.nurse, draft(title="Label Printer jammed")).queue == desktop
    assert create_ticket(desk.nurse, draft(title="printers everywhere")).queue.code == "SERVICEDESK"  # type: ignore[union-attr]
    assert create_ticket(desk.outsider, draft(kind="request", department="RV-W1")).queue == desktop
    assert create_ticket(desk.nurse, draft(kind="security")).queue.code == "SECURITY"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "title: must not be empty"),
        ("title", "   ", "title: must not be empty"),
        ("title", "x" * 201, "title: must be at most 200 characters (got 201)"),
        ("description", "d" * 20001, "description: must be at most 20000 characters"),
        ("kind", "complaint", "kind: must be one of incident, request, security"),
        ("care_effect", "terrible", "care_effect: must be one of blocked, degraded, none"),
        ("scope", "galaxy", "scope: must be one of person, department, site, enterprise"),
        ("department", "NOPE", "department: no department has code 'NOPE'"),
        ("service", "NOPE", "service: no clinical service has code 'NOPE'"),
        ("phi_breach_suspected", True, "phi_breach_suspected: applies to security incidents only"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    desk: Hospital, field: str, value: object, message: str
) -> None:
    events = AuditEvent.objects.count()
    with pytest.raises((InvalidInput, NotFound)) as caught:
        create_ticket(desk.nurse, draft(**{field: value}))
    assert str(caught.value).startswith(message)
    assert Ticket.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_likely_phi_flags_the_ticket(desk: Hospital) -> None:
    ticket = create_ticket(desk.nurse, draft(description="Patient MRN: 00123456 can't be scanned"))
    assert ticket.phi_flagged
    assert not create_ticket(desk.nurse, draft()).phi_flagged


# --- lifecycle ---------------------------------------------------------------------------------


def test_the_whole_life_of_a_ticket(desk: Hospital) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        ticket = create_ticket(desk.nurse, draft())
        clock.shift(timedelta(minutes=10))
        lifecycle.change_status(desk.agent, ticket.pk, "in_progress", version=ticket.version)
        ticket.refresh_from_db()
        assert ticket.responded_at == T0 + timedelta(minutes=10)
        assert ticket.response_result == "met"
        clock.shift(timedelta(minutes=5))
        lifecycle.change_status(desk.agent, ticket.pk, "waiting_requester")
        clock.shift(timedelta(hours=2))  # the nurse is with a patient: the clock stands still
        lifecycle.add_comment(desk.nurse, ticket.pk, "It's bay 4, the Zebra one.")
        ticket.refresh_from_db()
        assert ticket.status == "in_progress"
        assert ticket.sla_paused_at is None
        assert ticket.resolve_by == T0 + timedelta(hours=10)
        clock.shift(timedelta(minutes=20))
        with pytest.raises(InvalidInput, match="resolution_notes"):
            lifecycle.change_status(desk.agent, ticket.pk, "resolved", resolution_code="fixed")
        with pytest.raises(InvalidInput, match="resolution_code"):
            lifecycle.change_status(
                desk.agent, ticket.pk, "resolved", resolution_code="magic", resolution_notes="x"
            )
        lifecycle.change_status(
            desk.agent,
            ticket.pk,
            "resolved",
            resolution_code="fixed",
            resolution_notes="Re-paired the scanner.",
        )
        ticket.refresh_from_db()
        assert ticket.resolution_result == "met"
        # The nurse says it is not fixed: reopened, the clock runs on from where it stood.
        clock.shift(timedelta(hours=1))
        lifecycle.change_status(desk.nurse, ticket.pk, "in_progress")
        ticket.refresh_from_db()
        assert ticket.reopened_count == 1
        assert ticket.resolve_by == T0 + timedelta(hours=11)
        lifecycle.change_status(
            desk.agent,
            ticket.pk,
            "resolved",
            resolution_code="fixed",
            resolution_notes="New scanner.",
        )
        lifecycle.change_status(desk.nurse, ticket.pk, "closed")
        ticket.refresh_from_db()
        assert ticket.status == "closed"
        with pytest.raises(Conflict, match="closed is final"):
            lifecycle.change_status(desk.agent, ticket.pk, "in_progress")
    actions = list(
        AuditEvent.objects.filter(
            object_id=str(ticket.pk), object_type="servicedesk.ticket"
        ).values_list("action", flat=True)
    )
    assert actions.count("ticket.status") == 6


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), "closed"),
        (("resolved",), "new"),
        (("resolved",), "waiting_requester"),
        (("in_progress",), "in_progress"),
    ],
)
def test_illegal_transitions_are_refused_with_the_reason(
    desk: Hospital, path: tuple[str, ...], target: str
) -> None:
    ticket = create_ticket(desk.nurse, draft())
    for step in path:
        lifecycle.change_status(
            desk.agent, ticket.pk, step, resolution_code="fixed", resolution_notes="done"
        )
    with pytest.raises(Conflict) as caught:
        lifecycle.change_status(desk.agent, ticket.pk, target)
    assert caught.value.field == "status"
    assert target in str(caught.value)


def test_reopen_only_within_seven_days(desk: Hospital) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        ticket = create_ticket(desk.nurse, draft())
        lifecycle.change_status(
            desk.agent, ticket.pk, "resolved", resolution_code="fixed", resolution_notes="done"
        )
        clock.shift(timedelta(days=7, minutes=1))
        with pytest.raises(Conflict, match="more than 7 days ago"):
            lifecycle.change_status(desk.nurse, ticket.pk, "in_progress")


def test_requesters_may_only_confirm_or_reopen(desk: Hospital) -> None:
    ticket = create_ticket(desk.nurse, draft())
    with pytest.raises(Forbidden):
        lifecycle.change_status(desk.nurse, ticket.pk, "in_progress")
    with pytest.raises(Forbidden):
        lifecycle.add_comment(desk.nurse, ticket.pk, "secret", public=False)
    with pytest.raises(Forbidden):
        lifecycle.change_status(desk.auditor, ticket.pk, "in_progress")


def test_a_stale_version_is_refused(desk: Hospital) -> None:
    ticket = create_ticket(desk.nurse, draft())
    tickets.update_ticket(desk.agent, ticket.pk, ticket.version, {"title": "Bay 4 scanner dead"})
    with pytest.raises(Conflict, match=r"changed since you read it \(your version 1, now 2\)"):
        tickets.update_ticket(desk.nurse, ticket.pk, ticket.version, {"care_effect": "blocked"})
    ticket.refresh_from_db()
    assert ticket.title == "Bay 4 scanner dead"
    assert ticket.care_effect == "degraded"


def test_priority_follows_its_inputs_and_keeps_an_override(desk: Hospital) -> None:
    with time_machine.travel(T0, tick=False):
        ticket = create_ticket(desk.nurse, draft())
        ticket = tickets.update_ticket(desk.nurse, ticket.pk, 1, {"care_effect": "blocked"})
        assert ticket.priority == "P1"
        assert ticket.respond_by == T0 + timedelta(minutes=15)
        with pytest.raises(InvalidInput, match="reason"):
            tickets.override_priority(desk.agent, ticket.pk, "P3", "  ")
        with pytest.raises(Forbidden):
            tickets.override_priority(desk.nurse, ticket.pk, "P3", "I know better")
        ticket = tickets.override_priority(
            desk.agent, ticket.pk, "P3", "Spare scanner in the next bay"
        )
        assert ticket.priority == "P3"
        assert ticket.priority_reason == "Set to P3 by Priya: Spare scanner in the next bay"
        ticket = tickets.update_ticket(
            desk.nurse, ticket.pk, ticket.version, {"scope": "department"}
        )
        assert ticket.priority == "P3"
    event = AuditEvent.objects.get(action="ticket.priority_override")
    assert event.before == {
        "priority": "P1",
        "priority_reason": "Patient care blocked in a critical area (ED)",
    }


def test_security_incidents_need_an_assessment_to_resolve(desk: Hospital) -> None:
    ticket = create_ticket(
        desk.nurse, draft(kind="security", title="Lost my work phone", phi_breach_suspected=True)
    )
    assert ticket.priority == "P1"
    with pytest.raises(InvalidInput, match="security_outcome"):
        lifecycle.change_status(
            desk.admin, ticket.pk, "resolved", resolution_code="fixed", resolution_notes="wiped"
        )
    with pytest.raises(InvalidInput, match="breach_assessment"):
        lifecycle.set_security_assessment(
            desk.admin, ticket.pk, outcome="no_breach", breach_risk="low", assessment=" "
        )
    lifecycle.set_security_assessment(
        desk.admin,
        ticket.pk,
        outcome="no_breach",
        breach_risk="low",
        assessment="Encrypted, wiped remotely within 10 minutes.",
    )
    lifecycle.change_status(
        desk.admin,
        ticket.pk,
        "resolved",
        resolution_code="fixed",
        resolution_notes="Wiped and replaced.",
    )


# --- visibility --------------------------------------------------------------------------------


def test_who_sees_which_ticket(desk: Hospital) -> None:
    mine = create_ticket(desk.nurse, draft())
    colleague = create_ticket(desk.agent, draft(), requester=desk.nurse)
    riverside = create_ticket(desk.outsider, draft(department="RV-W1"))
    security = create_ticket(desk.outsider, draft(kind="security", department="RV-W1"))

    def seen(user: object) -> set[int]:
        return set(Ticket.objects.visible_to(user).values_list("pk", flat=True))  # type: ignore[arg-type]

    assert seen(desk.nurse) == {mine.pk, colleague.pk}
    assert seen(desk.outsider) == {riverside.pk, security.pk}
    assert seen(desk.agent) == {mine.pk, colleague.pk, riverside.pk}
    assert seen(desk.manager) == {mine.pk, colleague.pk, riverside.pk, security.pk}
    assert seen(desk.auditor) == seen(desk.manager)
    QueueMember.objects.create(queue=Queue.objects.get(code="SECURITY"), user=desk.agent)
    assert security.pk in seen(desk.agent)
    with pytest.raises(NotFound):
        tickets.get_visible(desk.nurse, riverside.pk)


# --- relations ---------------------------------------------------------------------------------


def test_major_incident_resolves_its_children(desk: Hospital) -> None:
    major = create_ticket(
        desk.agent,
        draft(title="EHR down", service="EHR", care_effect="blocked", scope="enterprise"),
    )
    child = create_ticket(desk.nurse, draft(title="Can't open charts", service="EHR"))
    with pytest.raises(InvalidInput, match="not a major incident"):
        relations.link(desk.agent, child.pk, major.pk, "child_of")
    relations.promote_major(desk.agent, major.pk)
    relations.link(desk.agent, child.pk, major.pk, "child_of")
    with pytest.raises(Conflict, match="already linked"):
        relations.link(desk.agent, child.pk, major.pk, "child_of")
    lifecycle.change_status(
        desk.agent,
        major.pk,
        "resolved",
        resolution_code="vendor_fix",
        resolution_notes="Database failover completed.",
    )
    child.refresh_from_db()
    assert child.status == "resolved"
    assert child.resolution_notes.startswith(f"Resolved with major incident {major.number}")


def test_merge_a_duplicate(desk: Hospital) -> None:
    original = create_ticket(desk.nurse, draft())
    duplicate = create_ticket(desk.agent, draft(), requester=desk.nurse)
    merged = relations.merge_duplicate(desk.agent, duplicate.pk, original.pk)
    assert merged.status == "resolved"
    assert merged.resolution_code == "duplicate"
    assert merged.duplicate_of == original
    assert desk.nurse in original.watchers.all()


def test_me_too_on_a_known_incident(desk: Hospital) -> None:
    outage = create_ticket(
        desk.agent,
        draft(title="EHR slow everywhere", service="EHR", scope="site"),
        requester=desk.nurse,
    )
    private = create_ticket(desk.nurse, draft(service="EHR"))
    assert list(relations.known_incidents()) == [outage]
    relations.add_affected(desk.outsider, outage.pk)
    relations.add_affected(desk.outsider, outage.pk)  # twice is once
    assert outage.affected.count() == 1
    with pytest.raises(InvalidInput):
        relations.add_affected(desk.outsider, private.pk)
