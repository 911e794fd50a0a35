"""The training API: sessions, registration, attendance and who is trained, with permissions.

Bad input tried over HTTP: a window ending before it starts, a naive time, capacity 0 and
"lots", an unknown service, trainer and site, an unknown field in a PATCH, a body that is not
JSON, an unknown session and registration (404), registering an unknown user, attendance
"maybe", a walk-in without a name, an unknown service and department on /trained. Each answer
is 4xx JSON naming the field, and nothing is stored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careline.api import api
from careline.core.models import AuditEvent
from careline.knowledge import services as kb
from careline.training.models import Registration, TrainingSession
from careline.training.services import registrations
from tests.conftest import Hospital
from tests.training.conftest import STARTS, extra_person

pytestmark = pytest.mark.django_db

BODY = {
    "service": "EHR",
    "title": "EHR essentials for new starters",
    "starts_at": "2026-03-05T09:00:00-05:00",
    "ends_at": "2026-03-05T12:00:00-05:00",
    "trainer": "priya",
    "capacity": 2,
    "place": "Education Centre, room 2",
    "site": "NORTH",
}


def test_plan_register_waitlist_cancel_and_promote(
    api_as: Any, people: Hospital, clock: time_machine.Traveller
) -> None:
    manager, nurse, olive, sam = (
        api_as(people.manager),
        api_as(people.nurse),
        api_as(people.outsider),
        api_as(people.engineer),
    )
    created = manager.post("/training/sessions", BODY)
    assert created.status_code == 201, created.json()
    session = created.json()
    sid = session["id"]
    assert (session["service"], session["time_zone"], session["places_left"]) == (
        "EHR",
        "America/New_York",
        2,
    )
    assert session["starts_at"].startswith("2026-03-05T14:00:00")
    assert session["roster"] == []  # Helen manages training: she sees the roster

    mine = nurse.post(f"/training/sessions/{sid}/register")
    assert mine.status_code == 201, mine.json()
    assert (mine.json()["user"], mine.json()["status"]) == ("maria", "registered")
    assert olive.post(f"/training/sessions/{sid}/register", {}).json()["status"] == "registered"
    assert sam.post(f"/training/sessions/{sid}/register").json()["status"] == "waitlisted"

    seen = nurse.get(f"/training/sessions/{sid}").json()
    assert (seen["registered"], seen["waitlisted"], seen["places_left"], seen["my_status"]) == (
        2,
        1,
        0,
        "registered",
    )
    assert seen["roster"] is None  # a nurse does not see who else is coming

    listed = sam.get("/training/sessions", service="EHR").json()
    assert [(s["id"], s["my_status"]) for s in listed] == [(sid, "waitlisted")]

    cancelled = nurse.post(f"/training/registrations/{mine.json()['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    roster = manager.get(f"/training/sessions/{sid}").json()["roster"]
    assert [(r["user"], r["status"]) for r in roster] == [
        ("olive", "registered"),
        ("sam", "registered"),
    ]

    clock.move_to(STARTS + timedelta(hours=1))
    sam_place = roster[1]["id"]
    marked = api_as(people.agent).post(
        f"/training/registrations/{sam_place}/attendance", {"attended": True}
    )
    assert marked.status_code == 200, marked.json()
    assert (marked.json()["attended"], marked.json()["marked_by"]) == (True, "priya")
    assert (
        nurse.post(
            f"/training/registrations/{sam_place}/attendance", {"attended": False}
        ).status_code
        == 403
    )
    walk_in = manager.post(f"/training/sessions/{sid}/walk-in", {"user": "maria"})
    assert (walk_in.status_code, walk_in.json()["attended"]) == (201, True)

    trained = manager.get("/training/trained", service="EHR").json()
    assert [(t["user"], t["department"], t["last_trained_on"], t["sessions"]) for t in trained] == [
        ("maria", "NG-ED", "2026-03-05", 1),
        ("sam", "NG-IT", "2026-03-05", 1),
    ]
    assert manager.get("/training/trained", department="NG-ED").json()[0]["user"] == "maria"
    me = nurse.get("/training/trained/me").json()
    assert [(r["session"], r["attended"], r["status"]) for r in me] == [(sid, True, "registered")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": "2026-03-05T08:00:00-05:00"}, "ends_at"),
        ({"starts_at": "2026-03-05T09:00:00"}, "starts_at"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": "lots"}, "capacity"),
        ({"service": "NOPE"}, "service"),
        ({"trainer": "nobody"}, "trainer"),
        ({"site": "MARS"}, "site"),
        ({"title": "x" * 201}, "title"),
        ({"place": "Room\x00 2"}, "place"),
    ],
)
def test_bad_sessions_get_4xx_naming_the_field(
    api_as: Any, people: Hospital, change: dict[str, Any], field: str
) -> None:
    answer = api_as(people.manager).post("/training/sessions", {**BODY, **change})
    assert 400 <= answer.status_code < 500, answer.content
    body = answer.json()
    named = body.get("field") or body["errors"][0]["field"]
    assert named == field, body
    assert not TrainingSession.objects.exists()


def test_bad_requests_on_sessions_and_registrations(
    api_as: Any, people: Hospital, make_session: Any
) -> None:
    manager, nurse = api_as(people.manager), api_as(people.nurse)
    sid = make_session().pk
    events = AuditEvent.objects.count()
    cases = [
        (manager.patch(f"/training/sessions/{sid}", {"status": "cancelled"}), 422),
        (manager.patch(f"/training/sessions/{sid}", {}), 422),
        (manager.patch(f"/training/sessions/{sid}", {"capacity": 0}), 422),
        (manager.post("/training/sessions", raw="{not json"), 400),
        (manager.get("/training/sessions/999999"), 404),
        (manager.post("/training/registrations/999999/cancel"), 404),
        (manager.post(f"/training/sessions/{sid}/register", {"user": "ghost"}), 404),
        (nurse.post(f"/training/sessions/{sid}/register", {"user": "olive"}), 403),
        (manager.post(f"/training/sessions/{sid}/walk-in", {}), 422),
        (nurse.post("/training/sessions", BODY), 403),
        (nurse.patch(f"/training/sessions/{sid}", {"title": "Mine"}), 403),
        (nurse.post(f"/training/sessions/{sid}/cancel"), 403),
        (nurse.get("/training/trained"), 403),
        (manager.get("/training/trained", service="NOPE"), 404),
        (manager.get("/training/trained", department="NOPE"), 404),
        (manager.get("/training/sessions", status="maybe"), 422),
    ]
    for answer, status in cases:
        assert answer.status_code == status, (answer.request["PATH_INFO"], answer.content)
        assert answer.json()["detail"]
    place = registrations.register(people.nurse, sid)
    bad_mark = manager.post(f"/training/registrations/{place.pk}/attendance", {"attended": "maybe"})
    assert (bad_mark.status_code, bad_mark.json()["errors"][0]["field"]) == (422, "attended")
    assert AuditEvent.objects.count() == events + 1  # only Maria's registration
    assert api_as(None).get("/training/sessions").status_code == 401


def test_session_page_lists_published_articles_on_its_service_by_audience(
    api_as: Any, people: Hospital, make_session: Any
) -> None:
    def write(title: str, **fields: Any) -> None:
        kb.create_article(
            people.agent,
            kb.ArticleDraft(title=title, body="Steps.", **{"status": "published", **fields}),
            embed=False,
        )

    write("Sign in to the EHR with your badge", services=["EHR"])
    write("Reset an EHR account from the console", services=["EHR"], audience="it")
    write("EHR order sets, draft", services=["EHR"], status="draft")
    write("Printer jammed", services=["PRINT"])
    sid = make_session().pk
    for_nurse = api_as(people.nurse).get(f"/training/sessions/{sid}").json()["articles"]
    assert [a["title"] for a in for_nurse] == ["Sign in to the EHR with your badge"]
    assert for_nurse[0]["url"].startswith("/kb/")
    for_agent = api_as(people.agent).get(f"/training/sessions/{sid}").json()["articles"]
    assert [a["title"] for a in for_agent] == [
        "Reset an EHR account from the console",
        "Sign in to the EHR with your badge",
    ]


def test_the_list_is_a_fixed_number_of_queries(
    api_as: Any, people: Hospital, make_session: Any
) -> None:
    nurse = api_as(people.nurse)
    make_session()
    nurse.get("/training/sessions")  # the token's first use is written down once
    with CaptureQueriesContext(connection) as one:
        assert len(nurse.get("/training/sessions").json()) == 1
    for n in range(5):
        sid = make_session(title=f"Session {n}", site=None).pk
        registrations.register(extra_person(f"p{n}"), sid)
    with CaptureQueriesContext(connection) as six:
        assert len(nurse.get("/training/sessions").json()) == 6
    assert len(six) == len(one)


def test_every_training_body_has_its_schema_in_the_openapi_document() -> None:
    schema = api.get_openapi_schema()
    paths = schema["paths"]
    for path in (
        "/api/v1/training/sessions",
        "/api/v1/training/sessions/{session_id}",
        "/api/v1/training/sessions/{session_id}/register",
        "/api/v1/training/registrations/{registration_id}/attendance",
        "/api/v1/training/trained",
        "/api/v1/training/trained/me",
    ):
        assert path in paths, path
    components = schema["components"]["schemas"]
    assert {"SessionIn", "SessionPatch", "AttendanceIn", "RegisterIn"} <= set(components)
    assert Registration.objects.count() == 0
