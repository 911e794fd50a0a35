"""Incidents from monitors: impact from the CMDB, announcements through the outbox, notes
while the monitor stays down, and a recurring maintenance window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from careline.monitoring.models import MonitorIncident
from careline.monitoring.services import incidents, maintenance
from careline.oncall.models import Notification
from careline.servicedesk.models import Comment
from tests.cmdb.conftest import Cmdb, cmdb  # noqa: F401  (the CMDB fixture)

pytestmark = pytest.mark.django_db


def test_impact_comes_from_the_cmdb_item_when_the_monitor_names_one(
    make_monitor: Any,
    cmdb: Cmdb,  # noqa: F811
) -> None:
    """The monitor itself says "no effect, one person"; the CMDB knows the ED relies on the
    EHR application as essential, at two sites: blocked, enterprise, P1."""
    monitor = make_monitor(
        "EHR app",
        "tcp",
        {"host": "127.0.0.1", "port": 9},
        impact={"care_effect": "none", "scope": "person"},
        config_item=cmdb.ehr.pk,
    )
    assert incidents.on_down(monitor.pk, "connection refused", [], timezone.now()) == "opened"
    ticket = MonitorIncident.objects.get(monitor=monitor).ticket
    assert (ticket.care_effect, ticket.scope, ticket.priority) == ("blocked", "enterprise", "P1")
    assert "Clinical impact (CMDB)" in ticket.description


def test_unknown_config_item_is_refused_naming_it(
    make_monitor: Any, api_as: Any, hospital: Any
) -> None:
    answer = api_as(hospital.engineer).post(
        "/monitors",
        {
            "name": "x",
            "kind": "tcp",
            "config": {"host": "a.example", "port": 1},
            "config_item": 999_999,
        },
    )
    assert answer.status_code == 404
    assert answer.json()["field"] == "config_item"


def test_new_incident_is_announced_and_later_failures_become_notes(
    make_monitor: Any, settings: Any
) -> None:
    settings.MONITOR_ALERT_EMAIL = "servicedesk@hospital.example"
    settings.MONITOR_NOTE_MINUTES = 30
    monitor = make_monitor("PACS", "tcp", {"host": "127.0.0.1", "port": 9})
    now = timezone.now()
    assert incidents.on_down(monitor.pk, "connection refused", [], now) == "opened"
    incident = MonitorIncident.objects.get(monitor=monitor)
    mail = Notification.objects.filter(to="servicedesk@hospital.example")
    assert mail.count() == 1
    assert incident.ticket.number in mail.get().subject
    # The same error a minute later: nothing new to say.
    later = now + timedelta(minutes=1)
    assert incidents.on_down(monitor.pk, "connection refused", [], later) == "unchanged"
    # A different error is noted at once; the same one again after the quiet time.
    assert incidents.on_down(monitor.pk, "timed out", [], later) == "noted"
    much_later = now + timedelta(minutes=45)
    assert incidents.on_down(monitor.pk, "timed out", [], much_later) == "noted"
    notes = Comment.objects.filter(ticket=incident.ticket, public=False)
    assert notes.count() == 2
    assert "timed out" in notes.first().body  # type: ignore[union-attr]
    assert mail.count() == 1  # announced once


def test_recurring_window_silences_only_during_its_occurrences(make_monitor: Any) -> None:
    """Every Sunday 02:00 to 04:00 in New York, from a start date; bounded listing ahead."""
    monitor = make_monitor("Lab", "tcp", {"host": "127.0.0.1", "port": 9})
    zone = timezone.get_fixed_timezone(-300)  # New York in winter
    window = maintenance.create_window(
        None,
        name="Sunday patching",
        starts_at=datetime(2026, 11, 1, tzinfo=zone),
        recurrence="0 2 * * SUN",
        duration_minutes=120,
        time_zone="America/New_York",
        monitors=[monitor.pk],
    )
    sunday_3am = datetime(2026, 11, 29, 3, 0, tzinfo=zone)
    sunday_5am = datetime(2026, 11, 29, 5, 0, tzinfo=zone)
    monday_3am = datetime(2026, 11, 30, 3, 0, tzinfo=zone)
    assert maintenance.window_for(monitor, sunday_3am) is not None
    assert maintenance.window_for(monitor, sunday_5am) is None
    assert maintenance.window_for(monitor, monday_3am) is None
    ahead = maintenance.upcoming(window, sunday_5am)
    assert 1 <= len(ahead) <= maintenance.EXPAND_MAX
    assert all(o.starts_at - sunday_5am <= timedelta(days=maintenance.EXPAND_DAYS) for o in ahead)
    assert incidents.on_down(monitor.pk, "refused", [], sunday_3am) == "maintenance"


def test_window_api_refuses_bad_rules(api_as: Any, hospital: Any) -> None:
    api = api_as(hospital.engineer)
    bad = api.post(
        "/maintenance-windows",
        {
            "name": "x",
            "starts_at": "2026-11-01T00:00:00Z",
            "recurrence": "every sunday",
            "services": ["EHR"],
        },
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "recurrence"
    no_end = api.post(
        "/maintenance-windows",
        {"name": "x", "starts_at": "2026-11-01T00:00:00Z", "services": ["EHR"]},
    )
    assert no_end.json()["field"] == "ends_at"
    ok = api.post(
        "/maintenance-windows",
        {
            "name": "EHR upgrade",
            "starts_at": "2026-11-01T00:00:00Z",
            "ends_at": "2026-11-01T04:00:00Z",
            "services": ["EHR"],
        },
    )
    assert ok.status_code == 201, ok.json()
    assert ok.json()["services"] == ["EHR"]


def test_a_suppressed_childs_recovery_is_reported_on_its_parents_incident(
    make_monitor: Any,
) -> None:
    parent = make_monitor("EHR database", "tcp", {"host": "127.0.0.1", "port": 9})
    child = make_monitor("EHR web", "tcp", {"host": "127.0.0.1", "port": 9}, depends_on=[parent.pk])
    now = timezone.now()
    parent.status = "down"
    parent.save(update_fields=["status"])
    assert incidents.on_down(parent.pk, "refused", [], now) == "opened"
    assert incidents.on_down(child.pk, "refused", [], now) == "suppressed"
    assert incidents.on_recovered(child.pk, now) == "reported"
    ticket = MonitorIncident.objects.get(monitor=parent).ticket
    notes = [c.body for c in Comment.objects.filter(ticket=ticket, public=False)]
    assert notes == ["EHR web, which depends on EHR database, is working again."]
