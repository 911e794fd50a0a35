"""Setting the desk up over the API: queues, members and shifts, routing, SLA targets,
business hours and holidays. Admins and managers change them; agents go on and off shift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from careline.core.models import AuditEvent
from careline.servicedesk.models import QueueMember
from careline.servicedesk.services.tickets import create_ticket
from tests.conftest import Hospital
from tests.servicedesk.conftest import draft


def _put(api: Any, path: str, body: Any) -> Any:
    import json

    return api.client.put(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=api.headers
    )


def _delete(api: Any, path: str) -> Any:
    return api.client.delete(f"/api/v1{path}", headers=api.headers)


def test_queue_members_and_shifts(api_as: Any, desk: Hospital) -> None:
    admin, agent = api_as(desk.admin), api_as(desk.agent)
    created = admin.post(
        "/queues",
        {
            "code": "THEATRES",
            "name": "Theatre systems",
            "strategy": "round_robin",
            "manager": "helen",
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["manager"] == "helen"
    assert admin.post("/queues/THEATRES/members", {"username": "priya"}).status_code == 204
    queues = {q["code"]: q for q in agent.get("/queues").json()}
    assert queues["THEATRES"]["members"] == [{"username": "priya", "on_shift": True}]
    # Priya goes off shift herself; she may not change Sam's.
    assert agent.post("/queues/THEATRES/shift", {"on_shift": False}).status_code == 204
    assert not QueueMember.objects.get(queue__code="THEATRES", user=desk.agent).on_shift
    assert (
        agent.post("/queues/SERVICEDESK/shift", {"on_shift": False, "username": "sam"}).status_code
        == 403
    )
    assert _delete(admin, "/queues/THEATRES/members/priya").status_code == 204
    assert AuditEvent.objects.filter(action__startswith="queue.").count() == 4


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/queues", {"code": "SERVICEDESK", "name": "Dup"}, 409, "code"),
        ("/queues", {"code": "bad code", "name": "x"}, 422, "code"),
        ("/queues", {"code": "NEWQ", "name": "x", "strategy": "lottery"}, 422, "strategy"),
        ("/queues", {"code": "NEWQ", "name": "x", "manager": "ghost"}, 404, "manager"),
        ("/queues/NOPE/members", {"username": "priya"}, 404, "queue"),
        ("/queues/SERVICEDESK/members", {"username": "maria"}, 422, "username"),
        ("/routing-rules", {"queue": "DESKTOP"}, 422, "condition"),
        ("/routing-rules", {"queue": "NOPE", "keyword": "printer"}, 404, "queue"),
        ("/routing-rules", {"queue": "DESKTOP", "service": "NOPE"}, 404, "service"),
        ("/routing-rules", {"queue": "DESKTOP", "keyword": "x" * 65}, 422, "keyword"),
        ("/sites/NORTH/holidays", {"date": "2026-02-30", "name": "x"}, 422, "date"),
        ("/sites/NOPE/holidays", {"date": "2026-12-25", "name": "Christmas"}, 404, "site"),
    ],
)
def test_bad_setup_is_refused(
    api_as: Any, desk: Hospital, path: str, body: Any, status: int, field: str
) -> None:
    admin = api_as(desk.admin)
    events = AuditEvent.objects.count()
    response = admin.post(path, body)
    assert response.status_code == status, response.content
    assert field in response.json()["detail"]
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("persona", ["nurse", "agent", "engineer", "auditor"])
def test_only_admins_and_managers_change_the_setup(
    api_as: Any, desk: Hospital, persona: str
) -> None:
    api = api_as(getattr(desk, persona))
    assert api.post("/queues", {"code": "NEWQ", "name": "New"}).status_code == 403
    assert api.post("/routing-rules", {"queue": "DESKTOP", "keyword": "printer"}).status_code == 403
    assert (
        _put(
            api,
            "/sla-policies/incident/P3",
            {"respond_minutes": 60, "resolve_minutes": 600, "business_hours": True},
        ).status_code
        == 403
    )
    assert (
        api_as(desk.manager)
        .post("/routing-rules", {"queue": "DESKTOP", "keyword": "printer"})
        .status_code
        == 201
    )


def test_routing_rules_take_effect_at_once(api_as: Any, desk: Hospital) -> None:
    admin = api_as(desk.admin)
    assert create_ticket(desk.nurse, draft(title="Printer jammed")).queue.code == "SERVICEDESK"  # type: ignore[union-attr]
    rule = admin.post(
        "/routing-rules", {"queue": "DESKTOP", "keyword": "printer", "order": 5}
    ).json()
    assert create_ticket(desk.nurse, draft(title="Printer jammed")).queue.code == "DESKTOP"  # type: ignore[union-attr]
    assert [r["id"] for r in admin.get("/routing-rules").json()] == [rule["id"]]
    assert _delete(admin, f"/routing-rules/{rule['id']}").status_code == 204
    assert create_ticket(desk.nurse, draft(title="Printer jammed")).queue.code == "SERVICEDESK"  # type: ignore[union-attr]


def test_sla_targets_hours_and_holidays_shape_new_deadlines(api_as: Any, desk: Hospital) -> None:
    admin = api_as(desk.admin)
    policy = _put(
        admin,
        "/sla-policies/incident/P4",
        {"respond_minutes": 120, "resolve_minutes": 1200, "business_hours": True},
    )
    assert policy.status_code == 200, policy.content
    assert (
        _put(
            admin,
            "/sites/NORTH/business-hours",
            {"opens": "09:00", "closes": "17:00", "weekdays": [0, 1, 2, 3, 4]},
        ).status_code
        == 200
    )
    assert (
        admin.post(
            "/sites/NORTH/holidays", {"date": "2026-11-26", "name": "Thanksgiving"}
        ).status_code
        == 201
    )
    assert (
        admin.post("/sites/NORTH/holidays", {"date": "2026-11-26", "name": "Again"}).status_code
        == 409
    )
    # Wednesday 16:00 New York: one business hour left that day, Thursday a holiday.
    with time_machine.travel(datetime(2026, 11, 25, 21, 0, tzinfo=UTC), tick=False):
        ticket = create_ticket(desk.nurse, draft(care_effect="none", department="NG-IT"))
    assert ticket.priority == "P4"
    assert ticket.respond_by == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # Friday 10:00 New York
    bad = _put(
        admin,
        "/sla-policies/incident/P4",
        {"respond_minutes": 120, "resolve_minutes": 60, "business_hours": True},
    )
    assert bad.status_code == 422
    assert "resolve_minutes" in bad.json()["detail"]
    assert (
        _put(
            admin,
            "/sites/NORTH/business-hours",
            {"opens": "17:00", "closes": "09:00", "weekdays": [0]},
        ).status_code
        == 422
    )
    assert (
        _put(
            admin,
            "/sites/NORTH/business-hours",
            {"opens": "09:00", "closes": "17:00", "weekdays": [7]},
        ).status_code
        == 422
    )
    assert (
        _put(
            admin,
            "/sla-policies/incident/P9",
            {"respond_minutes": 1, "resolve_minutes": 1, "business_hours": True},
        ).status_code
        == 422
    )
    assert timedelta(0) < ticket.resolve_by - ticket.respond_by
