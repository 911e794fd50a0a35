"""The monitoring pages, rendered by the test client: grid, board, monitor page with its
pygal charts, and the create and edit forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from careline.monitoring.models import CheckRecord, Monitor
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_grid_board_and_monitor_page_show_state(make_monitor: Any, hospital: Hospital) -> None:
    parent = make_monitor("EHR database", "tcp", {"host": "127.0.0.1", "port": 9})
    child = make_monitor("EHR web", "http", {"url": "http://127.0.0.1:9/"}, depends_on=[parent.pk])
    Monitor.objects.filter(pk__in=[parent.pk, child.pk]).update(status="down")
    now = timezone.now()
    CheckRecord.objects.bulk_create(
        CheckRecord(monitor=child, at=now - timedelta(minutes=i), status="up", latency_ms=12.5 + i)
        for i in range(10)
    )
    client = signed_in(hospital.agent)
    grid = client.get("/monitoring/").content.decode()
    assert "Electronic health record" in grid
    assert "down (parent EHR database down)" in grid
    board = client.get("/monitoring/board/").content.decode()
    assert 'data-status="down"' in board
    page = client.get(f"/monitoring/{child.pk}/").content.decode()
    assert "down (parent EHR database down)" in page
    chart = client.get(f"/monitoring/{child.pk}/latency.svg")
    assert chart["Content-Type"] == "image/svg+xml"
    assert b"<svg" in chart.content
    uptime = client.get(f"/monitoring/{child.pk}/uptime.svg")
    assert b"<svg" in uptime.content


def test_requester_cannot_see_monitoring(hospital: Hospital) -> None:
    assert signed_in(hospital.nurse).get("/monitoring/").status_code == 403


def test_engineer_creates_and_edits_a_monitor_through_the_form(hospital: Hospital) -> None:
    client = signed_in(hospital.engineer)
    assert client.get("/monitoring/new/").status_code == 200
    created = client.post(
        "/monitoring/new/",
        {
            "name": "Lab HL7 feed",
            "kind": "tcp",
            "config.tcp.host": "lis.example.org",
            "config.tcp.port": "2575",
            "interval_s": "60",
            "retries": "2",
            "service": "EHR",
            "care_effect": "degraded",
            "scope": "site",
            "tags": "lab, interfaces",
        },
    )
    assert created.status_code == 302
    monitor = Monitor.objects.get(name="Lab HL7 feed")
    assert monitor.config == {"host": "lis.example.org", "port": 2575}
    assert monitor.tags == ["interfaces", "lab"]
    edited = client.post(
        f"/monitoring/{monitor.pk}/edit/",
        {
            "name": "Lab HL7 feed",
            "kind": "tcp",
            "config.tcp.host": "lis.example.org",
            "config.tcp.port": "2576",
            "interval_s": "120",
            "retries": "3",
            "care_effect": "degraded",
            "scope": "site",
        },
    )
    assert edited.status_code == 302
    monitor.refresh_from_db()
    assert (monitor.config["port"], monitor.interval_s, monitor.retries) == (2576, 120, 3)


def test_form_refuses_a_bad_port_naming_it(hospital: Hospital) -> None:
    answer = signed_in(hospital.engineer).post(
        "/monitoring/new/",
        {"name": "Bad", "kind": "tcp", "config.tcp.host": "x.example", "config.tcp.port": "99999"},
    )
    assert answer.status_code == 422
    assert "config.port" in answer.content.decode()
    assert not Monitor.objects.exists()
