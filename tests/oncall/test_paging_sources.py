"""What enters on-call: monitoring incidents (grouped by service and root cause, so forty
failing checks ring one phone once), SLA breaches of urgent tickets, and 75 % warnings that
reach people the way they asked. Without an escalation route, monitoring falls back to
emailing the queue.

Bad input is the business of the other on-call tests; here the inputs come from CareLine.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from careline.core.demo import load_demo
from careline.core.models import User
from careline.monitoring.models import MonitorIncident
from careline.monitoring.services import incidents
from careline.oncall import demo as oncall_demo
from careline.oncall.models import EscalationRoute, Notification, Page, PageStatus
from careline.servicedesk import sla_watch
from careline.servicedesk.models import Queue, QueueMember
from careline.servicedesk.services import lifecycle, tickets
from tests.conftest import Hospital
from tests.monitoring.conftest import make_monitor  # noqa: F401  (the monitor factory)
from tests.oncall.paging_setup import OnCall, sent_to, set_up
from tests.servicedesk.conftest import draft

pytestmark = pytest.mark.django_db
NIGHT = datetime(2026, 12, 8, 3, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def oncall(hospital: Hospital) -> OnCall:
    return set_up(hospital)


def test_forty_failing_checks_on_one_service_ring_one_phone_once(
    oncall: OnCall,
    make_monitor: Any,  # noqa: F811
) -> None:
    checks = [
        make_monitor(f"EHR check {n}", "tcp", {"host": "127.0.0.1", "port": 9}) for n in range(40)
    ]
    with time_machine.travel(NIGHT, tick=False) as clock:
        for check in checks:
            assert incidents.on_down(check.pk, "connection refused", [], timezone.now()) == "opened"
            clock.shift(timedelta(seconds=2))
    page = Page.objects.get()
    assert (page.source, page.priority, page.incident_count) == ("monitoring", "P1", 40)
    assert MonitorIncident.objects.count() == 40  # every check still has its own ticket
    sam = sent_to(oncall.hospital.engineer)
    assert [n.channel for n in sam] == ["sms", "voice"]
    # The queue is not emailed forty times beside the page.
    assert not Notification.objects.filter(
        page__isnull=True, subject__contains="EHR check"
    ).exists()


def test_a_recovered_check_resolves_its_page_and_a_relapse_pages_again(
    oncall: OnCall,
    make_monitor: Any,  # noqa: F811
    settings: Any,
) -> None:
    settings.ONCALL_STORM_WINDOW_SECONDS = 0
    check = make_monitor("PACS DICOM echo", "tcp", {"host": "127.0.0.1", "port": 9})
    with time_machine.travel(NIGHT, tick=False) as clock:
        incidents.on_down(check.pk, "association rejected", [], timezone.now())
        clock.shift(timedelta(minutes=1))
        assert incidents.on_recovered(check.pk, timezone.now()) == "resolved"
        assert Page.objects.get().status == PageStatus.RESOLVED
        clock.shift(timedelta(minutes=2))
        assert incidents.on_down(check.pk, "association rejected", [], timezone.now()) == "reopened"
    assert Page.objects.count() == 2
    assert Page.objects.filter(status=PageStatus.TRIGGERED).count() == 1


def test_without_a_route_monitoring_emails_the_queue_as_before(
    oncall: OnCall,
    make_monitor: Any,  # noqa: F811
) -> None:
    EscalationRoute.objects.all().delete()
    desk = Queue.objects.get(code="SERVICEDESK")
    QueueMember.objects.create(queue=desk, user=oncall.hospital.agent)
    check = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9})
    with time_machine.travel(NIGHT, tick=False):
        incidents.on_down(check.pk, "connection refused", [], timezone.now())
    assert not Page.objects.exists()
    assert MonitorIncident.objects.get().ticket.queue == desk
    emailed = Notification.objects.filter(to="priya@northgate.example")
    assert any("P1 EHR web is down" in n.subject for n in emailed)


def test_an_urgent_tickets_breach_pages_and_its_warning_reaches_the_phone(
    oncall: OnCall,
) -> None:
    hospital = oncall.hospital
    desk = Queue.objects.get(code="SERVICEDESK")
    desk.manager = hospital.manager
    desk.save()
    QueueMember.objects.create(queue=desk, user=hospital.engineer)
    with time_machine.travel(NIGHT, tick=False):
        ticket = tickets.create_ticket(hospital.nurse, draft(care_effect="blocked"))
        first = Page.objects.get()
        # Someone takes the original page; the ticket still sits unanswered.
        first.status = PageStatus.ACKNOWLEDGED
        first.save()
    assert ticket.priority == "P1"
    warn_at = ticket.respond_warn_at
    sla_watch.sweep(warn_at)
    # Sam's P1 rule: a text at once (the delayed call is for pages, not warnings).
    warnings = Notification.objects.filter(recipient=hospital.engineer, page__isnull=True)
    assert [n.channel for n in warnings] == ["sms"]
    assert "Response due by" in warnings[0].subject
    sla_watch.sweep(ticket.respond_by)
    breach = Page.objects.exclude(pk=first.pk).get()
    assert breach.source == "sla_breach"
    assert f"{ticket.number} breached its response target" in breach.title
    assert sent_to(hospital.engineer, page=breach)
    # Resolving the ticket ends both pages.
    lifecycle.change_status(
        hospital.agent, ticket.pk, "resolved", resolution_code="fixed", resolution_notes="done"
    )
    assert set(Page.objects.values_list("status", flat=True)) == {PageStatus.RESOLVED}


def test_the_demo_hospital_pages_its_engineer_for_a_p1(db: None, monkeypatch: Any) -> None:
    # The demo's people and places, and its on-call part (the rest of the demo is slow to load).
    monkeypatch.setattr("careline.core.demo.DEMO_STEPS", [oncall_demo.load])
    with time_machine.travel(NIGHT, tick=False):
        # Loaded this week: the engineer has the first week of the rota.
        load_demo(io.StringIO())
        nurse = User.objects.get(username="nurse.ed")
        assert nurse.department is not None
        ticket = tickets.create_ticket(
            nurse, draft(care_effect="blocked", department=nurse.department.code, service="EHR")
        )
    assert ticket.priority == "P1"
    page = Page.objects.get()
    assert page.policy is not None
    assert page.policy.code == "CLINICAL"
    sent = Notification.objects.filter(page=page).select_related("recipient").order_by("id")
    assert [(n.recipient.username if n.recipient else "", n.channel) for n in sent] == [
        ("engineer", "sms"),
        ("engineer", "voice"),
    ]
    # Loading the demo again changes nothing.
    load_demo(io.StringIO())
    assert EscalationRoute.objects.count() == 4
