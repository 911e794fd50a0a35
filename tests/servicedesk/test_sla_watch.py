"""The SLA watcher: a warning at 75 %, an escalation to the queue's manager at breach, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.utils import timezone

from careline.core.models import AuditEvent, User
from careline.oncall.models import Notification
from careline.servicedesk.services import lifecycle
from careline.servicedesk.services.tickets import create_ticket
from careline.servicedesk.sla_watch import sweep
from tests.conftest import Hospital
from tests.servicedesk.conftest import draft

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _with_emails(desk: Hospital) -> None:
    for user in desk.all().values():
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@hospital.example")


def _subjects(to: str) -> list[str]:
    return list(Notification.objects.filter(to=to).order_by("id").values_list("subject", flat=True))


def test_warning_at_75_percent_then_escalation_at_breach(desk: Hospital) -> None:
    _with_emails(desk)
    with time_machine.travel(T0, tick=False) as clock:
        ticket = create_ticket(desk.nurse, draft())  # P2: respond in 30 min
        Notification.objects.all().delete()
        clock.shift(timedelta(minutes=22))
        assert sweep(timezone.now())["response_warnings"] == 0
        clock.shift(timedelta(seconds=31))
        assert sweep(timezone.now())["response_warnings"] == 1
        assert sweep(timezone.now())["response_warnings"] == 0  # once
        assert _subjects("priya@hospital.example") == [f"[{ticket.number}] Response due by 03:30"]
        assert _subjects("sam@hospital.example") == [
            f"[{ticket.number}] Response due by 03:30"
        ]  # the queue, on shift
        clock.shift(timedelta(minutes=8))
        counts = sweep(timezone.now())
        assert counts["response_breaches"] == 1
        assert _subjects("helen@hospital.example") == [
            f"[{ticket.number}] BREACHED response target (P2)"
        ]
        assert sweep(timezone.now())["response_breaches"] == 0
    ticket.refresh_from_db()
    assert ticket.response_result == "breached"
    assert (
        AuditEvent.objects.filter(action="ticket.sla_breach", object_id=str(ticket.pk)).count() == 1
    )


def test_a_ticket_answered_in_time_is_never_warned(desk: Hospital) -> None:
    _with_emails(desk)
    with time_machine.travel(T0, tick=False) as clock:
        ticket = create_ticket(desk.nurse, draft())
        clock.shift(timedelta(minutes=5))
        lifecycle.add_comment(desk.agent, ticket.pk, "Looking now")
        clock.shift(timedelta(hours=1))
        assert sweep(timezone.now())["response_warnings"] == 0
        assert sweep(timezone.now())["response_breaches"] == 0
    ticket.refresh_from_db()
    assert ticket.response_result == "met"


def test_a_paused_clock_neither_warns_nor_breaches(desk: Hospital) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        ticket = create_ticket(desk.nurse, draft())
        lifecycle.change_status(desk.agent, ticket.pk, "waiting_requester")
        clock.shift(timedelta(hours=12))
        assert sum(sweep(timezone.now()).values()) == 0
        lifecycle.add_comment(desk.nurse, ticket.pk, "Back now")
        ticket.refresh_from_db()
        assert ticket.resolve_by == T0 + timedelta(hours=20)


def test_resolution_breach_is_recorded_for_reporting(desk: Hospital) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        ticket = create_ticket(desk.nurse, draft(care_effect="blocked"))  # P1: resolve in 4 h
        lifecycle.add_comment(desk.agent, ticket.pk, "On it")
        clock.shift(timedelta(hours=4, seconds=1))
        assert sweep(timezone.now())["resolution_breaches"] == 1
        lifecycle.change_status(
            desk.agent, ticket.pk, "resolved", resolution_code="fixed", resolution_notes="done"
        )
    ticket.refresh_from_db()
    assert ticket.resolution_result == "breached"
    assert ticket.breach_escalated_at is not None
