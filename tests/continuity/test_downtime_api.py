"""/api/v1/downtime and the downtime pages: declaring, listing, updates, the checklist, the
report, procedures, linking tickets and who may do what.

Bad input tried: an end before the start, an unknown service code, no services, an unknown
department code, a kind that is neither planned nor unplanned, closing with an unfinished
checklist (409 naming what is left), ticking an item twice and an item of another event,
an update on a closed event, linking an unknown ticket; a requester or an auditor declaring.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from careline.continuity.models import DowntimeEvent, DowntimeProcedure
from careline.oncall.models import Notification
from careline.servicedesk.services.tickets import TicketDraft, create_ticket
from tests.conftest import PASSWORD, Hospital
from tests.continuity.setup import set_up

T0 = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def body(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "EHR unavailable",
        "kind": "unplanned",
        "services": ["EHR"],
        "starts_at": (T0 - timedelta(minutes=5)).isoformat(),
        "read_only_access": True,
    }
    values.update(changes)
    return values


@pytest.fixture
def ward(hospital: Hospital) -> Hospital:
    set_up(hospital)
    return hospital


def test_declare_update_end_tick_close_and_report(ward: Hospital, api_as: Any) -> None:
    agent = api_as(ward.agent)
    with time_machine.travel(T0, tick=False):
        made = agent.post("/downtime", body())
        assert made.status_code == 201, made.json()
        event = made.json()
        assert event["status"] == "active"
        assert event["departments"] == ["NG-ED"]
        event_id = event["id"]
        assert agent.post(f"/downtime/{event_id}/updates", {"text": "Failover"}).status_code == 201
        listed = api_as(ward.nurse).get("/downtime", active="true", service="EHR").json()
        assert [e["id"] for e in listed["items"]] == [event_id]
        assert listed["count"] == 1
        assert api_as(ward.nurse).get("/downtime", planned="true").json()["items"] == []
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        ended = agent.post(f"/downtime/{event_id}/end").json()
    items = ended["checklist"]
    assert [i["kind"] for i in items] == ["service_restored", "read_only_closed", "back_entered"]
    refused = agent.post(f"/downtime/{event_id}/close")
    assert refused.status_code == 409
    assert refused.json()["field"] == "checklist"
    assert "Paper records back-entered in Emergency Department" in refused.json()["detail"]
    with time_machine.travel(T0 + timedelta(hours=1, minutes=45), tick=False):
        for item in items:
            ticked = agent.post(f"/downtime/{event_id}/checklist/{item['id']}")
            assert ticked.status_code == 200
            assert ticked.json()["done_by"] == "priya"
    twice = agent.post(f"/downtime/{event_id}/checklist/{items[0]['id']}")
    assert twice.status_code == 409
    assert twice.json()["field"] == "item_id"
    closed = agent.post(f"/downtime/{event_id}/close").json()
    assert closed["status"] == "closed"
    assert closed["recovery_complete"] is True
    late = agent.post(f"/downtime/{event_id}/updates", {"text": "late"})
    assert late.status_code == 409
    figures = api_as(ward.auditor).get(f"/downtime/{event_id}/report").json()
    assert figures["duration_minutes"] == 65.0
    assert figures["time_to_notify_minutes"] == 5.0
    assert figures["time_to_recover_minutes"] == 45.0
    assert (figures["checklist_done"], figures["checklist_total"]) == (3, 3)
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/downtime/{event_id}/report" in schema["paths"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_at": (T0 - timedelta(hours=1)).isoformat()}, "ends_at"),
        ({"services": ["NOPE"]}, "services"),
        ({"services": []}, "services"),
        ({"departments": ["NG-ZZ"]}, "departments"),
        ({"kind": "sometimes"}, "kind"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    ward: Hospital, api_as: Any, changes: dict[str, Any], field: str
) -> None:
    outbox = Notification.objects.count()
    answer = api_as(ward.agent).post("/downtime", body(**changes))
    assert answer.status_code == 422
    assert field in answer.json()["detail"]
    assert not DowntimeEvent.objects.exists()
    assert Notification.objects.count() == outbox


def test_a_checklist_item_of_another_event_is_not_found(ward: Hospital, api_as: Any) -> None:
    agent = api_as(ward.agent)
    first = agent.post("/downtime", body()).json()["id"]
    second = agent.post("/downtime", body(services=["PRINT"])).json()["id"]
    agent.post(f"/downtime/{first}/end")
    other = agent.post(f"/downtime/{second}/end").json()["checklist"][0]["id"]
    answer = agent.post(f"/downtime/{first}/checklist/{other}")
    assert answer.status_code == 404
    assert answer.json()["field"] == "item_id"
    assert agent.get(f"/downtime/{second}").json()["checklist"][0]["done_at"] is None


def test_linking_tickets(ward: Hospital, api_as: Any) -> None:
    agent = api_as(ward.agent)
    event_id = agent.post("/downtime", body()).json()["id"]
    ticket = create_ticket(
        ward.nurse,
        TicketDraft(
            kind="incident",
            title="Cannot open charts",
            description="EHR shows an error",
            department="NG-ED",
            care_effect="degraded",
            scope="person",
            page=False,
        ),
    )
    linked = agent.post(f"/downtime/{event_id}/tickets", {"ticket": ticket.number})
    assert linked.status_code == 200
    assert linked.json()["tickets"] == [ticket.number]
    again = agent.post(f"/downtime/{event_id}/tickets", {"ticket": str(ticket.pk)})
    assert again.status_code == 409
    unknown = agent.post(f"/downtime/{event_id}/tickets", {"ticket": "INC-999999"})
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "ticket"


def test_procedures_crud_and_bad_codes(ward: Hospital, api_as: Any) -> None:
    agent = api_as(ward.agent)
    made = agent.post(
        "/downtime-procedures",
        {"service": "PRINT", "department": "RV-W1", "title": "Print later", "body": "Write it"},
    )
    assert made.status_code == 201
    assert made.json()["department"] == "RV-W1"
    assert len(api_as(ward.nurse).get("/downtime-procedures").json()) == 3
    twice = agent.post(
        "/downtime-procedures",
        {"service": "PRINT", "department": "RV-W1", "title": "again", "body": "b"},
    )
    assert twice.status_code == 409
    unknown = agent.post("/downtime-procedures", {"service": "NOPE", "title": "x", "body": "y"})
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "service"
    assert (
        api_as(ward.nurse)
        .client.delete(
            f"/api/v1/downtime-procedures/{made.json()['id']}", headers=api_as(ward.nurse).headers
        )
        .status_code
        == 403
    )
    deleted = agent.client.delete(
        f"/api/v1/downtime-procedures/{made.json()['id']}", headers=agent.headers
    )
    assert deleted.status_code == 204
    assert DowntimeProcedure.objects.count() == 2


def test_a_requester_and_the_auditor_read_but_do_not_declare(ward: Hospital, api_as: Any) -> None:
    event_id = api_as(ward.engineer).post("/downtime", body()).json()["id"]
    for person in (ward.nurse, ward.auditor):
        client = api_as(person)
        assert client.get(f"/downtime/{event_id}").status_code == 200
        assert client.post("/downtime", body()).status_code == 403
        assert client.post(f"/downtime/{event_id}/updates", {"text": "x"}).status_code == 403
        assert client.post(f"/downtime/{event_id}/end").status_code == 403
    assert DowntimeEvent.objects.count() == 1
    assert DowntimeEvent.objects.get().status == "active"


def test_the_pages_for_a_nurse_and_the_form_for_an_agent(ward: Hospital) -> None:
    agent = Client()
    assert agent.login(username="priya", password=PASSWORD)
    form = agent.get("/downtime/new/")
    assert form.status_code == 200
    assert 'for="services"' in form.content.decode()
    bad = agent.post("/downtime/new/", {"title": "EHR down", "kind": "unplanned"})
    assert bad.status_code == 422
    assert "services" in bad.content.decode()
    made = agent.post(
        "/downtime/new/", {"title": "EHR down", "kind": "unplanned", "services": ["EHR"]}
    )
    assert made.status_code == 302
    event = DowntimeEvent.objects.get()
    nurse = Client()
    assert nurse.login(username="maria", password=PASSWORD)
    assert nurse.get("/downtime/new/").status_code == 403
    listing = nurse.get("/downtime/").content.decode()
    assert f"{event.reference} EHR down" in listing
    page = nurse.get(f"/downtime/{event.pk}/").content.decode()
    assert "ED paper triage" in page
    assert "Time to notify" in page
    assert "<strong>paper kit</strong>" not in page  # the ED's own procedure is shown to it
    assert "End downtime" not in page  # a requester has no buttons
    assert "End downtime" in agent.get(f"/downtime/{event.pk}/").content.decode()
    assert agent.post(f"/downtime/{event.pk}/end/").status_code == 302
    assert DowntimeEvent.objects.get().status == "ended"


def test_the_list_costs_the_same_few_queries_for_many_events(
    ward: Hospital, api_as: Any, django_assert_max_num_queries: Any
) -> None:
    agent = api_as(ward.agent)
    for n in range(6):
        assert agent.post("/downtime", body(title=f"Outage {n}")).status_code == 201
    nurse = api_as(ward.nurse)
    with django_assert_max_num_queries(9):
        listed = nurse.get("/downtime", active="true")
    assert listed.json()["count"] == 6
    assert [e["title"] for e in listed.json()["items"]] == [f"Outage {n}" for n in range(5, -1, -1)]
    # Paged: two at a time, newest first, none missed or repeated.
    seen = []
    for offset in (0, 2, 4):
        page = nurse.get("/downtime", active="true", limit=2, offset=offset).json()
        assert page["count"] == 6
        seen += [e["title"] for e in page["items"]]
    assert seen == [f"Outage {n}" for n in range(5, -1, -1)]
    assert nurse.get("/downtime", limit=0).status_code == 422


def test_a_planned_downtime_is_cancelled_with_its_reason_before_it_starts(
    ward: Hospital, api_as: Any
) -> None:
    """Bad input tried: a blank reason (422 naming it), cancelling twice and cancelling an
    active downtime (409), a requester cancelling (403)."""
    agent = api_as(ward.agent)
    with time_machine.travel(T0, tick=False):
        planned = agent.post(
            "/downtime",
            body(
                kind="planned",
                starts_at=(T0 + timedelta(days=10)).isoformat(),
                ends_at=(T0 + timedelta(days=10, hours=2)).isoformat(),
            ),
        ).json()
        assert (
            api_as(ward.nurse)
            .post(f"/downtime/{planned['id']}/cancel", {"reason": "x"})
            .status_code
            == 403
        )
        blank = agent.post(f"/downtime/{planned['id']}/cancel", {"reason": " "})
        assert blank.status_code == 422
        assert blank.json()["field"] == "reason"
        done = agent.post(f"/downtime/{planned['id']}/cancel", {"reason": "Upgrade moved to March"})
        assert done.status_code == 200, done.json()
        assert done.json()["status"] == "cancelled"
        assert done.json()["updates"][-1]["text"] == "Cancelled: Upgrade moved to March"
        assert (
            agent.post(f"/downtime/{planned['id']}/cancel", {"reason": "again"}).status_code == 409
        )
        active = agent.post("/downtime", body()).json()
        refused = agent.post(f"/downtime/{active['id']}/cancel", {"reason": "oops"})
        assert refused.status_code == 409
        assert refused.json()["field"] == "status"
    assert DowntimeEvent.objects.get(pk=active["id"]).status == "active"
