"""The tickets API: the contract of issue 3, bad input of every kind, and who sees what."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from careline.core.models import AuditEvent
from careline.servicedesk.models import Comment, Ticket
from tests.conftest import Hospital

ICU_SCANNER = {
    "kind": "incident",
    "title": "Scanner won't read wristbands in ICU",
    "description": "Beeps, nothing appears.",
    "department": "NG-ED",
    "care_effect": "degraded",
    "scope": "person",
}


def _state() -> tuple[int, int, int]:
    return (
        Ticket.objects.count(),
        Comment.objects.count(),
        AuditEvent.objects.exclude(action="ticket.view").count(),
    )


def test_create_answers_201_with_the_contract_fields(api_as: Any, desk: Hospital) -> None:
    response = api_as(desk.nurse).post("/tickets", ICU_SCANNER)
    assert response.status_code == 201, response.content
    body = response.json()
    assert {
        "id",
        "number",
        "priority",
        "priority_reason",
        "status",
        "respond_by",
        "resolve_by",
        "version",
    } <= set(body)
    assert body["number"] == "INC-000001"
    assert body["priority"] == "P2"
    assert body["priority_reason"] == "Patient care degraded in a critical area (ED)"
    assert body["requester"] == "maria"
    assert body["version"] == 1


def test_get_one_is_a_view_event(api_as: Any, desk: Hospital) -> None:
    nurse = api_as(desk.nurse)
    ticket = nurse.post("/tickets", ICU_SCANNER).json()
    assert nurse.get(f"/tickets/{ticket['id']}").json()["number"] == ticket["number"]
    assert (
        AuditEvent.objects.filter(
            action="ticket.view", actor_name="maria", object_id=str(ticket["id"])
        ).count()
        == 1
    )


def test_requester_tokens_never_reach_other_departments(api_as: Any, desk: Hospital) -> None:
    ed = api_as(desk.nurse).post("/tickets", ICU_SCANNER).json()
    outsider = api_as(desk.outsider)
    for path in (f"/tickets/{ed['id']}", f"/tickets/{ed['id']}/comments"):
        response = outsider.get(path)
        assert response.status_code == 404
        assert response.json()["detail"] == f"id: no ticket {ed['id']} that you may see"
    assert outsider.post(f"/tickets/{ed['id']}/comments", {"body": "hi"}).status_code == 404
    assert outsider.get("/tickets").json()["count"] == 0
    assert outsider.get("/tickets", department="NG-ED").json()["count"] == 0


def test_patch_with_version_and_stale_write(api_as: Any, desk: Hospital) -> None:
    nurse, agent = api_as(desk.nurse), api_as(desk.agent)
    ticket = nurse.post("/tickets", ICU_SCANNER).json()
    changed = agent.patch(f"/tickets/{ticket['id']}", {"version": 1, "care_effect": "blocked"})
    assert changed.status_code == 200
    assert changed.json()["priority"] == "P1"
    assert changed.json()["version"] == 2
    stale = nurse.patch(f"/tickets/{ticket['id']}", {"version": 1, "title": "Mine"})
    assert stale.status_code == 409
    assert stale.json()["field"] == "version"
    assert Ticket.objects.get(pk=ticket["id"]).title == ICU_SCANNER["title"]


def test_status_assign_comment_priority_link_major_merge(api_as: Any, desk: Hospital) -> None:
    nurse, agent = api_as(desk.nurse), api_as(desk.agent)
    ticket = nurse.post("/tickets", ICU_SCANNER).json()
    tid = ticket["id"]
    assert (
        agent.post(f"/tickets/{tid}/assign", {"assignee": "sam", "queue": "DESKTOP"}).json()[
            "assignee"
        ]
        == "sam"
    )
    assert (
        agent.post(
            f"/tickets/{tid}/comments", {"body": "On my way", "minutes_spent": 5}
        ).status_code
        == 201
    )
    assert (
        agent.post(
            f"/tickets/{tid}/comments", {"body": "Firmware 2.1 known bad", "public": False}
        ).status_code
        == 201
    )
    assert [c["body"] for c in nurse.get(f"/tickets/{tid}/comments").json()] == ["On my way"]
    assert len(agent.get(f"/tickets/{tid}/comments").json()) == 2
    overridden = agent.post(
        f"/tickets/{tid}/priority", {"priority": "P3", "reason": "Spare scanner available"}
    ).json()
    assert overridden["priority_overridden"] is True
    resolved = agent.post(
        f"/tickets/{tid}/status",
        {
            "status": "resolved",
            "resolution_code": "fixed",
            "resolution_notes": "Firmware rolled back",
        },
    )
    assert resolved.json()["status"] == "resolved"
    assert nurse.post(f"/tickets/{tid}/status", {"status": "closed"}).json()["status"] == "closed"

    major = agent.post(
        "/tickets",
        {
            **ICU_SCANNER,
            "title": "EHR down",
            "service": "EHR",
            "scope": "enterprise",
            "care_effect": "blocked",
        },
    ).json()
    assert agent.post(f"/tickets/{major['id']}/major").json()["is_major"] is True
    child = nurse.post("/tickets", {**ICU_SCANNER, "title": "Can't chart", "service": "EHR"}).json()
    linked = agent.post(
        f"/tickets/{child['id']}/links", {"target": major["id"], "kind": "child_of"}
    )
    assert linked.status_code == 201
    assert linked.json()["parent"] == major["number"]
    dup = nurse.post("/tickets", {**ICU_SCANNER, "title": "EHR gone"}).json()
    merged = agent.post(f"/tickets/{dup['id']}/merge", {"into": major["id"]}).json()
    assert merged["resolution_code"] == "duplicate"


def test_list_filters_and_queue_order(api_as: Any, desk: Hospital) -> None:
    nurse, agent = api_as(desk.nurse), api_as(desk.agent)
    p4 = nurse.post(
        "/tickets",
        {**ICU_SCANNER, "title": "Mouse sticky", "care_effect": "none", "department": "NG-IT"},
    ).json()
    p1 = nurse.post(
        "/tickets", {**ICU_SCANNER, "title": "Monitor dead", "care_effect": "blocked"}
    ).json()
    p2 = nurse.post("/tickets", ICU_SCANNER).json()
    assert [t["number"] for t in agent.get("/tickets", open="true").json()["items"]] == [
        p1["number"],
        p2["number"],
        p4["number"],
    ]
    assert agent.get("/tickets", priority=["P1", "P4"]).json()["count"] == 2

    def numbers(**filters: Any) -> list[str]:
        return [t["number"] for t in agent.get("/tickets", **filters).json()["items"]]

    # Several priorities come back in the queue's order, whichever are asked for.
    assert numbers(priority=["P2", "P1"], open="true", site="NORTH") == [p1["number"], p2["number"]]
    assert numbers(priority=["P2", "P3", "P4"]) == [p2["number"], p4["number"]]
    assert numbers(priority=["P1", "P2", "P3", "P4"]) == [p1["number"], p2["number"], p4["number"]]
    assert numbers(priority=["P3"]) == []
    assert agent.get("/tickets", department="NG-IT").json()["items"][0]["id"] == p4["id"]
    assert agent.get("/tickets", site="RIVER").json()["count"] == 0
    # An unknown place matches nothing (it is not an error to look for it).
    for place in ("site", "department", "queue", "service"):
        assert agent.get("/tickets", **{place: "NOWHERE"}).json()["count"] == 0, place
    queue = agent.get(f"/tickets/{p1['id']}").json()["queue"]
    assert p1["number"] in numbers(queue=queue)
    assert agent.get("/tickets", status="resolved").json()["count"] == 0


def test_search_ranks_by_relevance_and_stems(api_as: Any, desk: Hospital) -> None:
    nurse, agent = api_as(desk.nurse), api_as(desk.agent)
    title_hit = nurse.post(
        "/tickets",
        {**ICU_SCANNER, "title": "Wristband printer jams", "description": "Label stuck."},
    ).json()
    body_hit = nurse.post(
        "/tickets",
        {
            **ICU_SCANNER,
            "title": "Cart problem",
            "description": "The printer for wristbands is out of labels.",
        },
    ).json()
    nurse.post("/tickets", {**ICU_SCANNER, "title": "Phone broken", "description": "No dial tone."})
    found = agent.get("/tickets", q="printers").json()["items"]
    assert [t["id"] for t in found] == [title_hit["id"], body_hit["id"]]
    assert agent.get("/tickets", q=title_hit["number"]).json()["items"][0]["id"] == title_hit["id"]
    assert agent.get("/tickets", q="wrist").json()["count"] == 2  # the last word is a prefix
    for hostile in ('"', "AND OR NOT", "*", "a:b", "NEAR(", "'); DROP TABLE x; --"):
        response = agent.get("/tickets", q=hostile)
        assert response.status_code == 200, hostile
    refused = agent.get("/tickets", q="scanner\x00")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "q"
    assert Ticket.objects.count() == 3


def test_a_broad_search_ranks_its_newest_matches_and_says_so(
    api_as: Any, desk: Hospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More matches than the rank window: the newest are ranked (best first), the oldest are
    left out, and the page says its count is not the whole story."""
    from careline.servicedesk import search

    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    nurse, agent = api_as(desk.nurse), api_as(desk.agent)
    oldest = nurse.post("/tickets", {**ICU_SCANNER, "title": "Pump alarm pump pump"}).json()
    weak = nurse.post("/tickets", {**ICU_SCANNER, "title": "Desk", "description": "pump"}).json()
    strong = nurse.post("/tickets", {**ICU_SCANNER, "title": "Pump pump"}).json()
    newest = nurse.post("/tickets", {**ICU_SCANNER, "title": "Pump"}).json()
    page = agent.get("/tickets", q="pump").json()
    ids = [t["id"] for t in page["items"]]
    assert oldest["id"] not in ids  # outside the newest three
    assert set(ids[:2]) == {strong["id"], newest["id"]}  # title above body: ranked
    assert ids[2] == weak["id"]
    assert (page["count"], page["count_exact"]) == (3, False)
    narrow = agent.get("/tickets", q="alarm").json()
    assert ([t["id"] for t in narrow["items"]], narrow["count_exact"]) == ([oldest["id"]], True)
    # The console's search keeps to the same window.
    console = search.search(Ticket.objects.all(), "pump")
    assert [t.pk for t in console] == ids


def test_new_tickets_are_searchable_without_a_pending_list(api_as: Any, desk: Hospital) -> None:
    """PostgreSQL: a new ticket's words go straight into the search index, not into a pending
    list that every search would read until the next vacuum."""
    if connection.vendor != "postgresql":
        pytest.skip("the GIN index's pending list is PostgreSQL's")
    nurse, agent = api_as(desk.nurse), api_as(desk.agent)
    for i in range(20):
        nurse.post("/tickets", {**ICU_SCANNER, "title": f"Infusion pump {i} keeps alarming"})
    with connection.cursor() as cursor:
        # How many pending pages there were to merge: none.
        cursor.execute("SELECT gin_clean_pending_list('servicedesk_ticket_search'::regclass)")
        assert cursor.fetchone()[0] == 0
    assert agent.get("/tickets", q="infusion alarm").json()["count"] == 20


def test_the_count_is_exact_up_to_its_cap(
    api_as: Any, desk: Hospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careline.servicedesk import api

    monkeypatch.setattr(api, "COUNT_CAP", 2)
    nurse, agent = api_as(desk.nurse), api_as(desk.agent)
    nurse.post("/tickets", ICU_SCANNER)
    nurse.post("/tickets", ICU_SCANNER)
    assert agent.get("/tickets").json() | {"items": []} == {
        "items": [],
        "count": 2,
        "count_exact": True,
    }
    nurse.post("/tickets", ICU_SCANNER)
    page = agent.get("/tickets", limit=10).json()
    assert (len(page["items"]), page["count"], page["count_exact"]) == (3, 2, False)


def test_list_and_one_ticket_use_few_queries(
    api_as: Any,
    desk: Hospital,
    django_assert_max_num_queries: Any,
    django_assert_num_queries: Any,
) -> None:
    nurse, agent = api_as(desk.nurse), api_as(desk.agent)
    ids = [
        nurse.post("/tickets", {**ICU_SCANNER, "title": f"Problem {i}"}).json()["id"]
        for i in range(15)
    ]
    for i in ids[:5]:
        agent.post(f"/tickets/{i}/comments", {"body": "update"})
    with django_assert_max_num_queries(6):
        assert agent.get("/tickets", limit=50).json()["count"] == 15
    # A search reads its window of matches with their rank in one statement, then the page.
    with django_assert_num_queries(3) as search:
        assert agent.get("/tickets", q="problem").json()["count"] == 15
    assert sum("servicedesk_ticket" in q["sql"] for q in search.captured_queries) == 2
    with django_assert_max_num_queries(8):
        assert agent.get(f"/tickets/{ids[0]}").status_code == 200


BAD_CREATES: list[tuple[dict[str, Any], int, str]] = [
    ({"department": "NOPE"}, 404, "department"),
    ({"service": "NOPE"}, 404, "service"),
    ({"title": ""}, 422, "title"),
    ({"title": "   "}, 422, "title"),
    ({"title": "x" * 201}, 422, "title"),
    ({"title": None}, 422, "title"),
    ({"kind": "complaint"}, 422, "kind"),
    ({"care_effect": "awful"}, 422, "care_effect"),
    ({"scope": "planet"}, 422, "scope"),
    ({"scope": 3}, 422, "scope"),
    ({"phi_breach_suspected": True}, 422, "phi_breach_suspected"),
    ({"phi_breach_suspected": "perhaps"}, 422, "phi_breach_suspected"),
    ({"requester": "ghost"}, 404, "requester"),
    ({"description": "d" * 20_001}, 422, "description"),
    ({"title": "Scanner\x00 broken"}, 422, "title"),  # PostgreSQL cannot store a NUL
    ({"description": "Bay 4\x00"}, 422, "description"),
]


@pytest.mark.parametrize(("change", "status", "field"), BAD_CREATES)
def test_bad_creates(
    api_as: Any, desk: Hospital, change: dict[str, Any], status: int, field: str
) -> None:
    agent = api_as(desk.agent)
    before = _state()
    response = agent.post("/tickets", {**ICU_SCANNER, **change})
    assert response.status_code == status, response.content
    assert field in response.json()["detail"]
    assert _state() == before


def test_a_ten_megabyte_title_is_413(api_as: Any, desk: Hospital) -> None:
    agent = api_as(desk.agent)
    before = _state()
    response = agent.post("/tickets", {**ICU_SCANNER, "title": "x" * 10_000_000})
    assert response.status_code == 413
    assert _state() == before


def test_a_requester_cannot_file_for_someone_else(api_as: Any, desk: Hospital) -> None:
    nurse = api_as(desk.nurse)
    before = _state()
    response = nurse.post("/tickets", {**ICU_SCANNER, "requester": "olive"})
    assert response.status_code == 403
    assert _state() == before


BAD_ACTIONS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("agent", "status", {"status": "closed"}, 409, "status"),
    ("agent", "status", {"status": "pending"}, 422, "status"),
    ("agent", "status", {"status": "resolved"}, 422, "resolution_code"),
    (
        "agent",
        "status",
        {"status": "resolved", "resolution_code": "fixed"},
        422,
        "resolution_notes",
    ),
    ("agent", "status", {"status": "in_progress", "version": 99}, 409, "version"),
    ("nurse", "status", {"status": "in_progress"}, 403, "requester"),
    ("auditor", "status", {"status": "in_progress"}, 403, "auditor"),
    ("agent", "assign", {"assignee": "maria"}, 422, "assignee"),
    ("agent", "assign", {"assignee": "ghost"}, 404, "assignee"),
    ("agent", "assign", {"queue": "NOPE"}, 404, "queue"),
    ("nurse", "assign", {"assignee": "priya"}, 403, "may not"),
    ("agent", "comments", {"body": "  "}, 422, "body"),
    ("agent", "comments", {"body": "x", "minutes_spent": -1}, 422, "minutes_spent"),
    ("nurse", "comments", {"body": "x", "public": False}, 403, "internal"),
    ("agent", "priority", {"priority": "P0", "reason": "x"}, 422, "priority"),
    ("agent", "priority", {"priority": "P1", "reason": ""}, 422, "reason"),
    ("agent", "links", {"target": 999999, "kind": "related"}, 404, "id"),
    ("agent", "links", {"target": 1, "kind": "cousin_of"}, 422, "kind"),
    (
        "agent",
        "security",
        {"outcome": "no_breach", "breach_risk": "low", "assessment": "x"},
        422,
        "kind",
    ),
]


@pytest.mark.parametrize(("persona", "action", "body", "status", "word"), BAD_ACTIONS)
def test_bad_actions(
    api_as: Any,
    desk: Hospital,
    persona: str,
    action: str,
    body: dict[str, Any],
    status: int,
    word: str,
) -> None:
    ticket = api_as(desk.nurse).post("/tickets", ICU_SCANNER).json()
    client = api_as(getattr(desk, persona))
    before = _state()
    response = client.post(f"/tickets/{ticket['id']}/{action}", body)
    assert response.status_code == status, response.content
    assert word in response.json()["detail"]
    assert _state() == before


@pytest.mark.parametrize("raw", ["{", "[]", "null", '{"title": "x",}'])
def test_malformed_bodies(api_as: Any, desk: Hospital, raw: str) -> None:
    agent = api_as(desk.agent)
    before = _state()
    response = agent.post("/tickets", raw=raw)
    assert response.status_code in (400, 422)
    assert _state() == before


def test_bad_filters_are_422(api_as: Any, desk: Hospital) -> None:
    agent = api_as(desk.agent)
    for params in (
        {"priority": "P9"},
        {"status": "sleeping"},
        {"created_after": "yesterday"},
        {"limit": 501},
        {"q": "x" * 201},
    ):
        response = agent.get("/tickets", **params)
        assert response.status_code == 422, params
        assert next(iter(params)) in response.json()["detail"]


def test_phi_check_warns_without_echoing(api_as: Any, desk: Hospital) -> None:
    response = api_as(desk.nurse).post(
        "/tickets/phi-check",
        {"title": "Label wrong", "description": "MRN: 00123456, DOB 03/04/1951, call 555-123-4567"},
    )
    body = response.json()
    assert body["flagged"] is True
    assert {f["kind"] for f in body["findings"]} == {"MRN", "date of birth", "phone number"}
    assert "00123456" not in response.content.decode()
    assert "an MRN, a date of birth and a phone number" in body["message"]
    assert (
        api_as(desk.nurse).post("/tickets/phi-check", {"title": "Printer jam"}).json()["flagged"]
        is False
    )


def test_known_incidents_and_me_too(api_as: Any, desk: Hospital) -> None:
    agent, outsider = api_as(desk.agent), api_as(desk.outsider)
    outage = agent.post(
        "/tickets", {**ICU_SCANNER, "title": "EHR slow", "service": "EHR", "scope": "site"}
    ).json()
    agent.post(
        "/tickets",
        {**ICU_SCANNER, "title": "Patient DOB 01/02/1950 wrong", "service": "EHR", "scope": "site"},
    )
    known = outsider.get("/incidents/known", service="EHR").json()
    assert known[0]["number"] == outage["number"]
    assert "Reported problem with Electronic health record" in [k["title"] for k in known]
    joined = outsider.post(f"/tickets/{outage['id']}/affected")
    assert joined.status_code == 201
    assert joined.json()["affected_count"] == 1
    assert outsider.get("/incidents/known", service="NOPE").status_code == 404
