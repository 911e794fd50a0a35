"""Notices IT posts on the status page, downtime updates shown there, and the page and JSON
that carry them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from careline.continuity.services import downtime
from careline.core.models import AuditEvent
from careline.reports.models import StatusNotice
from tests.conftest import Hospital
from tests.reports.status_setup import T0, many_monitors, monitor, service, unplanned_downtime

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(T0, tick=False):
        yield


def notice(**fields: Any) -> dict[str, Any]:
    return {
        "title": "PACS slow to load priors",
        "text": "Radiology: expect older studies to take a minute to open.\nWe are on it.",
        "severity": "warning",
        "services": ["ehr"],
        **fields,
    }


def test_an_agent_posts_a_notice_everyone_then_reads(hospital: Hospital, api_as: Any) -> None:
    posted = api_as(hospital.agent).post("/status/notices", notice())
    assert posted.status_code == 201, posted.content
    body = posted.json()
    assert (body["title"], body["severity"], body["services"]) == (
        "PACS slow to load priors",
        "warning",
        ["EHR"],
    )
    assert body["posted_by"] == hospital.agent.display_name
    assert AuditEvent.objects.filter(action="status.notice_posted").count() == 1
    status = api_as(hospital.nurse).get("/status").json()
    assert [n["title"] for n in status["notices"]] == ["PACS slow to load priors"]
    listed = api_as(hospital.nurse).get("/status/notices").json()
    assert [n["id"] for n in listed] == [body["id"]]


def test_a_requester_may_not_post_or_end_notices(hospital: Hospital, api_as: Any) -> None:
    nurse = api_as(hospital.nurse)
    refused = nurse.post("/status/notices", notice())
    assert refused.status_code == 403
    assert not StatusNotice.objects.exists()
    mine = api_as(hospital.agent).post("/status/notices", notice()).json()
    assert nurse.post(f"/status/notices/{mine['id']}/end").status_code == 403
    assert StatusNotice.objects.get().ended_at is None
    # Writing needs a session or a token: the public page is read-only.
    assert Client(REMOTE_ADDR="10.0.0.1").post(
        "/api/v1/status/notices", json.dumps(notice()), content_type="application/json"
    ).status_code in (401, 403)


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"title": ""}, 422, "title"),
        ({"title": "   "}, 422, "title"),
        ({"title": "x" * 201}, 422, "title"),
        ({"text": "y" * 5001}, 422, "text"),
        ({"severity": "panic"}, 422, "severity"),
        ({"services": ["EHR", "NOPE"]}, 422, "services"),
        ({"expires_at": "2026-03-10T08:00:00Z"}, 422, "expires_at"),
        ({"expires_at": "2026-03-10T09:00:00Z"}, 422, "expires_at"),
        ({"expires_at": "2026-03-11T09:00:00"}, 422, "expires_at"),
        ({"expires_at": "next tuesday"}, 422, "expires_at"),
        ({"text": "Patient MRN 00123456 waiting in bay 4"}, 400, "text"),
        ({"text": "Call the ward on (555) 123-4567 about Mr Jones, DOB 04/07/1951"}, 400, "text"),
        ({"title": "Mix-up for 123-45-6789"}, 400, "title"),
        ({"title": "bad\x00byte"}, 422, "title"),
        ({"services": "EHR"}, 422, "services"),
    ],
)
def test_bad_notices_are_refused_naming_the_field(
    hospital: Hospital, api_as: Any, fields: dict[str, Any], status: int, field: str
) -> None:
    """Empty, blank and over-long title; over-long text; an unknown severity and service code;
    expiry before, at the moment of, and without the time zone of posting, or not a time at
    all; an MRN, a phone number and date of birth, an SSN (PHI); a NUL byte; services as a
    string instead of a list. Nothing is saved."""
    answer = api_as(hospital.agent).post("/status/notices", notice(**fields))
    assert answer.status_code == status, answer.content
    detail = answer.json()["detail"]
    assert detail.startswith(f"{field}: "), detail
    if status == 400:
        assert "patient details never go on it" in detail
        # The refusal does not repeat what it found.
        assert "00123456" not in detail
        assert "123-45-6789" not in detail
    assert not StatusNotice.objects.exists()
    assert not AuditEvent.objects.filter(action="status.notice_posted").exists()


def test_a_notice_ends_by_hand_or_when_it_expires(hospital: Hospital, api_as: Any) -> None:
    agent = api_as(hospital.agent)
    lasting = agent.post("/status/notices", notice(title="Wi-Fi maintenance level 3")).json()
    brief = agent.post(
        "/status/notices", notice(title="Short one", expires_at="2026-03-10T10:00:00Z")
    ).json()
    shown = [n["title"] for n in agent.get("/status").json()["notices"]]
    assert sorted(shown) == ["Short one", "Wi-Fi maintenance level 3"]
    ended = agent.post(f"/status/notices/{lasting['id']}/end")
    assert ended.status_code == 200
    assert ended.json()["ended_at"] is not None
    again = agent.post(f"/status/notices/{lasting['id']}/end")
    assert again.status_code == 409
    assert again.json()["field"] == "ended_at"
    missing = agent.post("/status/notices/999999/end")
    assert (missing.status_code, missing.json()["field"]) == (404, "id")
    assert [n["title"] for n in agent.get("/status").json()["notices"]] == ["Short one"]
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert api_as(hospital.agent).get("/status").json()["notices"] == []
    assert brief["expires_at"].startswith("2026-03-10T10:00:00")


def test_the_page_shows_downtime_with_its_updates_and_escapes_notices(
    hospital: Hospital, api_as: Any, settings: Any
) -> None:
    """A notice carrying markup, a downtime update carrying an MRN (updates are written for
    staff and not checked when posted): the markup is shown as text, the MRN masked."""
    monitor("EHR web", "down")
    event = unplanned_downtime("EHR unavailable", ["EHR"])
    downtime.add_update(hospital.agent, event.pk, "Failover under way. Ignore MRN 00123456.")
    api_as(hospital.agent).post(
        "/status/notices", notice(title="<script>alert(1)</script>", severity="outage")
    )
    settings.STATUS_PUBLIC = True
    page = Client(REMOTE_ADDR="10.0.0.1").get("/status/").content.decode()
    assert "Downtime procedures are active" in page
    assert "EHR unavailable" in page
    assert "Failover under way." in page
    assert "00123456" not in page
    assert "MR••" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Anonymous readers do not see who posted, nor a link into the signed-in pages.
    assert hospital.agent.display_name not in page
    assert f"/downtime/{event.pk}/" not in page
    staff = Client()
    staff.force_login(hospital.agent)
    inside = staff.get("/status/").content.decode()
    assert f"/downtime/{event.pk}/" in inside
    assert "Post a notice" in inside
    assert "Take down" in inside
    body = api_as(hospital.nurse).get("/status").json()
    assert body["overall"] == "downtime"
    assert body["headline"] == "Downtime procedures are active"
    assert body["counts"] == {"downtime": 1, "unknown": 1}
    (active,) = body["downtime"]
    assert active["reference"] == event.reference
    assert [u["text"] for u in active["updates"]] == [f"Failover under way. Ignore MR{'•' * 10}."]
    ehr = body["services"][0]
    assert ehr["monitors"]["down"] == 1
    assert ehr["downtime"] == [event.reference]


def test_the_page_costs_the_same_queries_with_many_more_monitors(hospital: Hospital) -> None:
    monitor("EHR web", "down")
    staff = Client()
    staff.force_login(hospital.nurse)
    staff.get("/status/")  # the session and the first-request caches
    with CaptureQueriesContext(connection) as few:
        assert staff.get("/status/").status_code == 200
    for n in range(4):
        service(f"SVC{n}", f"Service {n}")
        many_monitors(50, f"SVC{n}", status="degraded" if n == 2 else "up")
    with CaptureQueriesContext(connection) as many:
        page = staff.get("/status/").content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert page.count('class="service state-') == 6
    assert "1 of 50 monitors" not in page
    assert "50 of 50 monitors degraded" in page


def test_the_notice_form(hospital: Hospital) -> None:
    """The form refuses PHI (400) and a bad expiry (422), keeping what was typed; a nurse may
    not open it."""
    agent = Client()
    agent.force_login(hospital.agent)
    assert agent.get("/status/notices/new/").status_code == 200
    phi = agent.post(
        "/status/notices/new/",
        {"title": "Scanner down", "text": "For SSN 123-45-6789", "severity": "info"},
    )
    assert phi.status_code == 400
    assert "text: looks like it contains an SSN" in phi.content.decode()
    assert 'value="Scanner down"' in phi.content.decode()
    late = agent.post(
        "/status/notices/new/",
        {"title": "Scanner down", "severity": "info", "expires_at": "2026-03-09T08:00"},
    )
    assert late.status_code == 422
    assert "expires_at" in late.content.decode()
    assert not StatusNotice.objects.exists()
    done = agent.post(
        "/status/notices/new/",
        {"title": "Scanner down", "severity": "outage", "services": ["PRINT"]},
    )
    assert (done.status_code, done["Location"]) == (302, "/status/")
    made = StatusNotice.objects.get()
    assert [s.code for s in made.services.all()] == ["PRINT"]
    taken = agent.post(f"/status/notices/{made.pk}/end/")
    assert taken.status_code == 302
    made.refresh_from_db()
    assert made.ended_by == hospital.agent
    nurse = Client()
    nurse.force_login(hospital.nurse)
    assert nurse.get("/status/notices/new/").status_code == 403
