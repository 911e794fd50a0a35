"""Heartbeat pings (the public /hb/ URLs) and the watcher that judges them."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from careline.monitoring import heartbeats
from careline.monitoring.models import HeartbeatPing, Monitor, MonitorIncident
from careline.monitoring.services import monitors
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db


@pytest.fixture
def backup(hospital: Hospital) -> Monitor:
    return monitors.create_monitor(
        None,
        {
            "name": "EHR nightly backup",
            "kind": "heartbeat",
            "config": {"period_s": 3600, "grace_s": 600},
            "service": "EHR",
            "impact": {"care_effect": "none", "scope": "enterprise"},
        },
    )


def test_ping_is_stored_without_a_session_and_carries_value_and_body(backup: Monitor) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.get(f"/hb/{backup.ping_token}?value=83.5").status_code == 200
    posted = client.post(
        f"/hb/{backup.ping_token}/start", "backup started", content_type="text/plain"
    )
    assert posted.status_code == 200
    assert "sessionid" not in posted.cookies
    pings = list(HeartbeatPing.objects.filter(monitor=backup).order_by("id"))
    assert [(p.kind, p.value, p.body) for p in pings] == [
        ("ping", 83.5, ""),
        ("start", None, "backup started"),
    ]
    backup.refresh_from_db()
    assert backup.last_value == 83.5
    assert backup.last_ping_kind == "start"


def test_oversized_body_is_cut_at_the_limit(backup: Monitor, settings: Any) -> None:
    settings.HEARTBEAT_BODY_BYTES = 1000
    answer = Client().post(f"/hb/{backup.ping_token}", "x" * 50_000, content_type="text/plain")
    assert answer.status_code == 200
    assert len(HeartbeatPing.objects.get(monitor=backup).body) == 1000


def test_unknown_id_is_404_and_writes_nothing(backup: Monitor) -> None:
    before = Monitor.objects.values_list("last_ping_at", flat=True).get(pk=backup.pk)
    answer = Client().get(f"/hb/{uuid.uuid4()}")
    assert answer.status_code == 404
    assert "id" in answer.json()["detail"]
    assert not HeartbeatPing.objects.exists()
    assert Monitor.objects.values_list("last_ping_at", flat=True).get(pk=backup.pk) == before
    # A monitor of another kind cannot be pinged through its token either.
    assert Client().get("/hb/not-a-uuid").status_code == 404


def test_bad_value_is_400_naming_value(backup: Monitor) -> None:
    for bad in ("lots", "nan", "inf"):
        answer = Client().get(f"/hb/{backup.ping_token}?value={bad}")
        assert answer.status_code == 400
        assert answer.json()["detail"].startswith("value:")
    assert not HeartbeatPing.objects.exists()


def test_late_job_goes_down_opens_an_incident_and_a_ping_resolves_it(backup: Monitor) -> None:
    Client().get(f"/hb/{backup.ping_token}")
    assert heartbeats.sweep()["pings"] == 1
    backup.refresh_from_db()
    assert backup.status == "up"
    deadline = backup.next_due_at
    assert deadline is not None
    # Not yet late within the grace time.
    assert heartbeats.sweep(deadline - timedelta(seconds=1))["late"] == 0
    counts = heartbeats.sweep(deadline + timedelta(seconds=1))
    assert counts["late"] == 1
    backup.refresh_from_db()
    assert backup.status == "down"
    assert "no ping since" in backup.last_error
    incident = MonitorIncident.objects.get(monitor=backup)
    assert incident.ticket.title == "EHR nightly backup is down"
    # The job reports in: up again, the ticket resolved.
    Client().post(f"/hb/{backup.ping_token}")
    heartbeats.sweep()
    backup.refresh_from_db()
    incident.refresh_from_db()
    assert backup.status == "up"
    assert incident.resolved_at is not None
    assert incident.ticket.status == "resolved"


def test_fail_ping_is_down_at_once(backup: Monitor) -> None:
    Client().get(f"/hb/{backup.ping_token}/fail")
    heartbeats.sweep()
    backup.refresh_from_db()
    assert backup.status == "down"
    assert backup.last_error == "the job reported a failure"
    assert MonitorIncident.objects.filter(monitor=backup, resolved_at__isnull=True).exists()


def test_cron_heartbeat_deadline_follows_the_schedule_in_its_time_zone(
    hospital: Hospital,
) -> None:
    nightly = monitors.create_monitor(
        None,
        {
            "name": "Nightly",
            "kind": "heartbeat",
            "config": {"cron": "0 2 * * *", "tz": "America/New_York", "grace_s": 1800},
        },
    )
    due = nightly.next_due_at
    assert due is not None
    local = due.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (2, 30)
