"""The changes API, its permissions, and the pages at the test-client level.

Bad input tried over HTTP: an unknown kind, a window ending before it starts, an unknown
service code and CMDB item, a stale PATCH version, an empty PATCH, an illegal transition
(409 with the reason), an unknown outcome, a blackout with no scope or an empty time range,
a calendar range that is reversed, a nurse and an auditor writing (403). Each answer names
the field, and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from careline.changes.models import Blackout, Change
from careline.changes.services import lifecycle
from careline.core.models import AuditEvent
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db

BODY = {
    "kind": "normal",
    "title": "Replace the core switch in the data centre",
    "services": ["EHR"],
    "clinical_impact": "blocked",
    "complexity": "high",
    "tested": True,
    "out_of_hours": True,
    "implementation_plan": "Swap line cards one at a time.",
    "backout_plan": "Reinsert the old cards.",
    "planned_start": "2026-02-10T03:00:00Z",
    "planned_end": "2026-02-10T05:00:00Z",
}


def test_create_read_patch_and_walk_the_lifecycle(api_as: Any, hospital: Hospital) -> None:
    agent, manager = api_as(hospital.agent), api_as(hospital.manager)
    created = agent.post("/changes", BODY)
    assert created.status_code == 201, created.json()
    change = created.json()
    assert (change["number"], change["state"], change["risk_level"]) == (
        "CHG-000001",
        "draft",
        "high",
    )
    cid = change["id"]
    stale = agent.patch(f"/changes/{cid}", {"version": 9, "title": "x"})
    assert (stale.status_code, stale.json()["field"]) == (409, "version")
    empty = agent.patch(f"/changes/{cid}", {"version": 1})
    assert empty.status_code == 422
    patched = agent.patch(f"/changes/{cid}", {"version": 1, "complexity": "low"})
    assert patched.json()["version"] == 2
    assert patched.json()["risk_reason"] == "Medium: clinical impact on a tier-1 service"
    early = agent.post(f"/changes/{cid}/start", {})
    assert early.status_code == 409
    assert "cannot go from draft to implementing" not in early.json()["detail"]
    assert "only an emergency change" in early.json()["detail"]
    assert agent.post(f"/changes/{cid}/submit", {"version": 2}).json()["state"] == "submitted"
    assert agent.post(f"/changes/{cid}/approve", {"comment": "mine"}).status_code == 403
    approved = manager.post(f"/changes/{cid}/approve", {"comment": "Go"})
    assert approved.json()["state"] == "scheduled"
    assert approved.json()["approvals"][0] == {
        "approver": "helen",
        "decision": "approved",
        "comment": "Go",
        "at": approved.json()["approvals"][0]["at"],
    }
    twice = manager.post(f"/changes/{cid}/approve", {"comment": "Go"})
    assert twice.status_code == 409
    assert agent.post(f"/changes/{cid}/start", {}).json()["state"] == "implementing"
    bad_outcome = agent.post(f"/changes/{cid}/complete", {"outcome": "done"})
    assert (bad_outcome.status_code, bad_outcome.json()["errors"][0]["field"]) == (422, "outcome")
    assert agent.post(f"/changes/{cid}/complete", {"outcome": "implemented"}).status_code == 200
    assert agent.post(f"/changes/{cid}/review", {"notes": "Clean."}).json()["state"] == "reviewed"
    assert agent.post(f"/changes/{cid}/close", {}).json()["state"] == "closed"
    again = agent.post(f"/changes/{cid}/close", {})
    assert (again.status_code, again.json()["field"]) == (409, "state")
    assert "closed is final" in again.json()["detail"]


def test_list_filters(api_as: Any, hospital: Hospital, django_assert_max_num_queries: Any) -> None:
    agent = api_as(hospital.agent)
    agent.post("/changes", BODY)
    agent.post(
        "/changes",
        {
            **BODY,
            "services": ["PRINT"],
            "planned_start": "2026-03-01T03:00:00Z",
            "planned_end": "2026-03-01T04:00:00Z",
        },
    )
    with django_assert_max_num_queries(3):  # token, changes, their services: no N+1
        assert len(agent.get("/changes").json()) == 2
    assert [c["services"] for c in agent.get("/changes", service="PRINT").json()] == [["PRINT"]]
    assert len(agent.get("/changes", **{"from": "2026-02-20T00:00:00Z"}).json()) == 1
    assert len(agent.get("/changes", to="2026-02-20T00:00:00Z").json()) == 1
    assert agent.get("/changes", state="submitted").json() == []
    assert agent.get("/changes", state="bogus").status_code == 422


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({**BODY, "kind": "urgent"}, "kind", 422),
        ({**BODY, "planned_end": "2026-02-10T02:00:00Z"}, "planned_end", 422),
        ({**BODY, "services": ["NOPE"]}, "services", 404),
        ({**BODY, "items": [424242]}, "items", 404),
        ({**BODY, "title": "  "}, "title", 422),
    ],
)
def test_bad_change_input(
    api_as: Any, hospital: Hospital, body: dict[str, Any], field: str, status: int
) -> None:
    answer = api_as(hospital.agent).post("/changes", body)
    assert answer.status_code == status
    data = answer.json()
    assert data.get("field") == field or data["errors"][0]["field"] == field
    assert Change.objects.count() == 0


def test_permissions(api_as: Any, hospital: Hospital) -> None:
    assert api_as(hospital.nurse).get("/changes").status_code == 403
    assert api_as(hospital.nurse).post("/changes", BODY).status_code == 403
    assert api_as(hospital.auditor).get("/changes").status_code == 200
    assert api_as(hospital.auditor).post("/changes", BODY).status_code == 403
    assert api_as(None).get("/changes").status_code == 401
    template = {"name": "Kiosk reboot", "services": ["PRINT"]}
    assert api_as(hospital.agent).post("/change-templates", template).status_code == 403
    made = api_as(hospital.manager).post("/change-templates", template)
    assert made.status_code == 201
    assert made.json()["services"] == ["PRINT"]
    assert [t["name"] for t in api_as(hospital.agent).get("/change-templates").json()] == [
        "Kiosk reboot"
    ]
    blackout = {
        "name": "EHR freeze",
        "services": ["EHR"],
        "starts_at": "2026-04-01T00:00:00Z",
        "ends_at": "2026-04-03T00:00:00Z",
    }
    assert api_as(hospital.engineer).post("/blackouts", blackout).status_code == 403
    assert Blackout.objects.count() == 0


def test_blackouts_api(api_as: Any, hospital: Hospital) -> None:
    manager = api_as(hospital.manager)
    no_scope = manager.post(
        "/blackouts",
        {"name": "x", "starts_at": "2026-04-01T00:00:00Z", "ends_at": "2026-04-02T00:00:00Z"},
    )
    assert (no_scope.status_code, no_scope.json()["field"]) == (422, "services")
    empty = manager.post(
        "/blackouts",
        {
            "name": "x",
            "services": ["EHR"],
            "weekdays": [0],
            "start_time": "07:00",
            "end_time": "07:00",
        },
    )
    assert (empty.status_code, empty.json()["field"]) == (422, "end_time")
    assert Blackout.objects.count() == 0
    made = manager.post(
        "/blackouts",
        {
            "name": "Theatre hours",
            "services": ["EHR"],
            "weekdays": [0, 1, 2, 3, 4],
            "start_time": "07:00",
            "end_time": "18:00",
            "time_zone": "America/New_York",
        },
    )
    assert made.status_code == 201, made.json()
    assert [b["name"] for b in api_as(hospital.agent).get("/blackouts").json()] == ["Theatre hours"]
    blackout_id = made.json()["id"]
    assert (
        api_as(hospital.agent)
        .client.delete(f"/api/v1/blackouts/{blackout_id}", headers=api_as(hospital.agent).headers)
        .status_code
        == 403
    )
    gone = manager.client.delete(f"/api/v1/blackouts/{blackout_id}", headers=manager.headers)
    assert gone.status_code == 204
    assert Blackout.objects.count() == 0
    assert AuditEvent.objects.filter(action="blackout.delete").count() == 1


def test_calendar_api_lists_day_by_day(api_as: Any, hospital: Hospital) -> None:
    agent = api_as(hospital.agent)
    cid = agent.post("/changes", BODY).json()["id"]
    agent.post(f"/changes/{cid}/submit", {})
    api_as(hospital.manager).post(
        "/blackouts",
        {
            "name": "Theatre hours",
            "services": ["EHR"],
            "weekdays": [1],
            "start_time": "07:00",
            "end_time": "18:00",
            "time_zone": "America/New_York",
        },
    )
    days = agent.get(
        "/changes/calendar", start="2026-02-09T00:00:00Z", end="2026-02-12T00:00:00Z"
    ).json()
    assert [d["day"] for d in days] == ["2026-02-09", "2026-02-10", "2026-02-11"]
    tuesday = days[1]["entries"]
    assert [(e["kind"], e["title"]) for e in tuesday] == [
        ("change", f"CHG-000001 {BODY['title']}"),
        ("blackout", "Theatre hours"),
    ]
    assert tuesday[1]["starts_at"] == "2026-02-10T12:00:00Z"
    assert days[0]["entries"] == []
    assert days[2]["entries"] == []
    reversed_range = agent.get(
        "/changes/calendar", start="2026-02-12T00:00:00Z", end="2026-02-09T00:00:00Z"
    )
    assert (reversed_range.status_code, reversed_range.json()["field"]) == (422, "end")


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages(api_as: Any, hospital: Hospital) -> None:
    cid = api_as(hospital.agent).post("/changes", BODY).json()["id"]
    lifecycle.submit(hospital.agent, cid)
    agent = signed_in(hospital.agent)
    listing = agent.get("/changes/").content.decode()
    assert "CHG-000001" in listing
    assert 'href="/changes/"' in listing
    page = agent.get(f"/changes/{cid}/").content.decode()
    assert "High: clinical impact on a tier-1 service, high complexity" in page
    assert "no P2 escalation route for EHR" in page
    assert 'value="approve"' not in page  # an agent is not on the board
    manager = signed_in(hospital.manager)
    board_view = manager.get(f"/changes/{cid}/").content.decode()
    assert 'value="approve"' in board_view
    assert 'value="reject"' in board_view
    done = manager.post(f"/changes/{cid}/approve/", {"comment": "Go ahead"})
    assert done.status_code == 302
    assert Change.objects.get(pk=cid).state == "scheduled"
    refused = manager.post(f"/changes/{cid}/approve/", {"comment": "again"})
    assert refused.status_code == 409
    assert "the board decides on submitted changes" in refused.content.decode()
    calendar = agent.get("/changes/calendar/", {"start": "2026-02-09"}).content.decode()
    assert "Tue 10 Feb 2026" in calendar
    assert "CHG-000001" in calendar
    assert signed_in(hospital.nurse).get("/changes/").status_code == 403
    assert agent.get("/changes/999/").status_code == 404
