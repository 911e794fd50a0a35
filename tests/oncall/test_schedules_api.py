"""The schedules API: create, read, replace and delete schedules, shifts over a window,
overrides and swaps, and who is on call now (or at a time), with each role's rights: a
requester may not read, an auditor reads but does not write, an engineer covers only for
himself, the IT manager changes anything.

Bad input tried, each answered 4xx naming the field with nothing stored: an unknown schedule
code (404) on every route, no layers, a layer with no people, an unknown time zone, an
unknown username, length_days 0 and 29, restrict_from == restrict_to, a hand-off not HH:MM,
an override ending before it starts, overlapping overrides (409), a naive override time, an
`at` that is not a datetime, a shifts window over 100 days, a duplicate code (409), and a
body that is not JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import time_machine

from careline.core.models import AuditEvent
from careline.oncall.models import Layer, LayerMember, Override, Schedule
from tests.conftest import ApiClient, Hospital

pytestmark = pytest.mark.django_db

BODY: dict[str, Any] = {
    "code": "IT",
    "name": "IT on call",
    "time_zone": "America/New_York",
    "description": "First line for every site",
    "layers": [
        {
            "name": "Weekly",
            "length_days": 7,
            "handoff_time": "09:00",
            "starts_on": "2027-01-04",
            "members": ["sam", "priya"],
        },
        {
            "name": "Nights",
            "length_days": 1,
            "handoff_time": "19:00",
            "starts_on": "2027-01-04",
            "restrict_from": "19:00",
            "restrict_to": "07:00",
            "members": ["helen"],
        },
    ],
}


def put(api: ApiClient, path: str, body: Any) -> Any:
    return api.client.put(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=api.headers
    )


def delete(api: ApiClient, path: str) -> Any:
    return api.client.delete(f"/api/v1{path}", headers=api.headers)


def stored() -> tuple[int, ...]:
    return (
        Schedule.objects.count(),
        Layer.objects.count(),
        LayerMember.objects.count(),
        Override.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def manager_api(api_as: Any, hospital: Hospital) -> ApiClient:
    api: ApiClient = api_as(hospital.manager)
    assert api.post("/oncall/schedules", BODY).status_code == 201
    return api


def test_the_manager_creates_reads_replaces_and_deletes_a_schedule(manager_api: ApiClient) -> None:
    one = manager_api.get("/oncall/schedules/IT").json()
    assert one["time_zone"] == "America/New_York"
    assert [la["name"] for la in one["layers"]] == ["Weekly", "Nights"]
    assert one["layers"][1]["restrict_from"] == "19:00"
    assert one["layers"][0]["members"][0] == {"username": "sam", "display_name": "Sam"}

    replaced = put(
        manager_api,
        "/oncall/schedules/IT",
        {
            **{k: v for k, v in BODY.items() if k != "code"},
            "name": "IT first line",
            "layers": BODY["layers"][:1],
        },
    )
    assert replaced.status_code == 200
    assert replaced.json()["name"] == "IT first line"
    assert len(replaced.json()["layers"]) == 1

    listed = manager_api.get("/oncall/schedules").json()
    assert [s["code"] for s in listed] == ["IT"]
    assert delete(manager_api, "/oncall/schedules/IT").status_code == 204
    assert not Schedule.objects.exists()
    assert manager_api.get("/oncall/schedules/IT").status_code == 404


def test_who_is_on_call_now_and_at_a_time(manager_api: ApiClient) -> None:
    with time_machine.travel("2027-01-05T12:00:00-05:00", tick=False):
        now = manager_api.get("/oncall/now", schedule="IT").json()
    assert now == {
        "schedule": "IT",
        "at": "2027-01-05T17:00:00Z",
        "user": {"username": "sam", "display_name": "Sam"},
        "since": "2027-01-05T12:00:00Z",  # 07:00 EST, when Helen's night ended
        "until": "2027-01-06T00:00:00Z",  # Helen's night at 19:00 EST
        "source": "Weekly",
    }
    night = manager_api.get("/oncall/now", schedule="IT", at="2027-01-05T23:30:00-05:00").json()
    assert night["user"]["username"] == "helen"
    assert night["source"] == "Nights"
    # Without an offset, the time is read on the schedule's clock.
    local = manager_api.get("/oncall/now", schedule="IT", at="2027-01-05T23:30").json()
    assert local["at"] == "2027-01-06T04:30:00Z"
    before = manager_api.get("/oncall/now", schedule="IT", at="2027-01-01T12:00:00Z").json()
    assert before["user"] is None
    assert before["since"] is None


def test_shifts_over_a_window(manager_api: ApiClient) -> None:
    found = manager_api.get(
        "/oncall/schedules/IT/shifts",
        start="2027-01-05T06:00:00-05:00",
        end="2027-01-05T20:00:00-05:00",
    )
    assert found.status_code == 200
    assert [(s["start"], s["user"]["username"], s["source"]) for s in found.json()] == [
        ("2027-01-05T11:00:00Z", "helen", "Nights"),
        ("2027-01-05T12:00:00Z", "sam", "Weekly"),
        ("2027-01-06T00:00:00Z", "helen", "Nights"),
    ]
    with time_machine.travel("2027-01-05T12:00:00-05:00", tick=False):
        week = manager_api.get("/oncall/schedules/IT/shifts").json()
    assert week[0]["start"] == "2027-01-05T17:00:00Z"
    assert week[-1]["end"] == "2027-01-12T17:00:00Z"  # a week by default


def test_overrides_and_swaps_through_the_api(
    manager_api: ApiClient, api_as: Any, hospital: Hospital
) -> None:
    sam = api_as(hospital.engineer)
    mine = sam.post(
        "/oncall/schedules/IT/overrides",
        {
            "user": "sam",
            "starts_at": "2027-01-11T19:00:00-05:00",
            "ends_at": "2027-01-12T07:00:00-05:00",
            "reason": "Helen off sick",
        },
    )
    assert mine.status_code == 201, mine.json()
    assert mine.json()["user"]["username"] == "sam"
    night = sam.get("/oncall/now", schedule="IT", at="2027-01-11T23:00:00-05:00").json()
    assert (night["user"]["username"], night["source"]) == ("sam", "override")
    with time_machine.travel("2027-01-01T00:00:00Z", tick=False):
        shown = sam.get("/oncall/schedules/IT").json()
    assert [o["id"] for o in shown["overrides"]] == [mine.json()["id"]]

    swap = sam.post(
        "/oncall/schedules/IT/swaps",
        {
            "first": {
                "user": "sam",
                "starts_at": "2027-01-05T09:00:00-05:00",
                "ends_at": "2027-01-05T19:00:00-05:00",
            },
            "second": {
                "user": "priya",
                "starts_at": "2027-01-12T09:00:00-05:00",
                "ends_at": "2027-01-12T19:00:00-05:00",
            },
            "reason": "dentist",
        },
    )
    assert swap.status_code == 201, swap.json()
    halves = swap.json()["overrides"]
    assert [h["user"]["username"] for h in halves] == ["priya", "sam"]
    assert {h["swap_id"] for h in halves} == {swap.json()["swap_id"]}

    assert delete(sam, f"/oncall/schedules/IT/overrides/{halves[0]['id']}").status_code == 204
    assert Override.objects.count() == 1  # the whole swap went; Sam's night stays
    assert delete(sam, f"/oncall/schedules/IT/overrides/{mine.json()['id']}").status_code == 204
    assert delete(sam, f"/oncall/schedules/IT/overrides/{mine.json()['id']}").status_code == 404


def test_each_role_may_do_what_it_should(
    manager_api: ApiClient, api_as: Any, hospital: Hospital
) -> None:
    maria = api_as(hospital.nurse)
    assert maria.get("/oncall/schedules").status_code == 403
    assert maria.get("/oncall/now", schedule="IT").status_code == 403
    assert maria.get("/oncall/schedules/IT/shifts").status_code == 403

    frank = api_as(hospital.auditor)
    assert frank.get("/oncall/schedules/IT").status_code == 200
    assert frank.get("/oncall/now", schedule="IT").status_code == 200
    assert frank.post("/oncall/schedules", {**BODY, "code": "AUD"}).status_code == 403
    assert (
        put(
            frank, "/oncall/schedules/IT", {k: v for k, v in BODY.items() if k != "code"}
        ).status_code
        == 403
    )
    assert delete(frank, "/oncall/schedules/IT").status_code == 403
    cover = {
        "user": "frank",
        "starts_at": "2027-01-05T09:00:00Z",
        "ends_at": "2027-01-05T10:00:00Z",
    }
    assert frank.post("/oncall/schedules/IT/overrides", cover).status_code == 403

    sam = api_as(hospital.engineer)
    assert sam.post("/oncall/schedules", {**BODY, "code": "ENG"}).status_code == 403
    for_priya = sam.post("/oncall/schedules/IT/overrides", {**cover, "user": "priya"})
    assert for_priya.status_code == 403
    assert "one of the people" in for_priya.json()["detail"]
    helens = manager_api.post("/oncall/schedules/IT/overrides", {**cover, "user": "helen"}).json()
    assert delete(sam, f"/oncall/schedules/IT/overrides/{helens['id']}").status_code == 403
    assert api_as(None).get("/oncall/schedules").status_code == 401
    assert Override.objects.count() == 1


def _layer(**change: Any) -> dict[str, Any]:
    return {"layers": [{**BODY["layers"][0], **change}]}


BAD = [
    ({"layers": []}, "layers", 422),
    (_layer(members=[]), "layers[0].members", 422),
    ({"time_zone": "Europe/Atlantis"}, "time_zone", 422),
    (_layer(members=["sam", "ghost"]), "layers[0].members", 422),
    (_layer(length_days=0), "layers.0.length_days", 422),
    (_layer(length_days=29), "layers.0.length_days", 422),
    (_layer(restrict_from="07:00", restrict_to="07:00"), "layers[0].restrict_to", 422),
    (_layer(handoff_time="9am"), "layers.0.handoff_time", 422),
]


@pytest.mark.parametrize(("change", "field", "status"), BAD)
def test_bad_schedules_are_refused_with_nothing_stored(
    api_as: Any, hospital: Hospital, change: dict[str, Any], field: str, status: int
) -> None:
    helen = api_as(hospital.manager)
    before = stored()

    answer = helen.post("/oncall/schedules", {**BODY, **change})

    assert answer.status_code == status
    assert field in answer.json()["detail"]
    assert stored() == before


def test_bad_requests_about_a_schedule_are_refused(manager_api: ApiClient) -> None:
    before = stored()
    assert manager_api.post("/oncall/schedules", BODY).status_code == 409
    for path in ("/oncall/schedules/NOPE", "/oncall/schedules/NOPE/shifts"):
        missing = manager_api.get(path)
        assert missing.status_code == 404
        assert "NOPE" in missing.json()["detail"]
    assert delete(manager_api, "/oncall/schedules/NOPE").status_code == 404
    assert (
        put(
            manager_api, "/oncall/schedules/NOPE", {k: v for k, v in BODY.items() if k != "code"}
        ).status_code
        == 404
    )
    assert (
        manager_api.post(
            "/oncall/schedules/NOPE/overrides",
            {"user": "sam", "starts_at": "2027-01-05T09:00:00Z", "ends_at": "2027-01-05T10:00:00Z"},
        ).status_code
        == 404
    )
    unknown = manager_api.get("/oncall/now", schedule="NOPE")
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "schedule"
    assert manager_api.get("/oncall/now", schedule="IT", at="next tuesday").status_code == 422
    wide = manager_api.get(
        "/oncall/schedules/IT/shifts", start="2027-01-01T00:00:00Z", end="2027-06-01T00:00:00Z"
    )
    assert wide.status_code == 422
    assert "end" in wide.json()["detail"]
    assert manager_api.post("/oncall/schedules", raw="{not json").status_code == 400

    cover = {
        "user": "helen",
        "starts_at": "2027-01-05T09:00:00Z",
        "ends_at": "2027-01-05T10:00:00Z",
    }
    backwards = manager_api.post(
        "/oncall/schedules/IT/overrides", {**cover, "ends_at": "2027-01-05T08:00:00Z"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "ends_at"
    naive = manager_api.post(
        "/oncall/schedules/IT/overrides", {**cover, "starts_at": "2027-01-05T09:00:00"}
    )
    assert naive.status_code == 422
    assert naive.json()["field"] == "starts_at"
    assert stored() == before

    first = manager_api.post("/oncall/schedules/IT/overrides", cover).json()
    clash = manager_api.post("/oncall/schedules/IT/overrides", {**cover, "user": "alex"})
    assert clash.status_code == 409
    assert f"override {first['id']}" in clash.json()["detail"]
    assert Override.objects.count() == 1


def test_listing_costs_a_fixed_number_of_queries(
    manager_api: ApiClient, django_assert_max_num_queries: Any
) -> None:
    for n in range(5):
        manager_api.post("/oncall/schedules", {**BODY, "code": f"S{n}"})
    with django_assert_max_num_queries(6):  # token, user, schedules, layers, members, overrides
        listed = manager_api.get("/oncall/schedules")
    assert len(listed.json()) == 6


def test_the_openapi_document_describes_the_bodies(api_as: Any, hospital: Hospital) -> None:
    doc = api_as(None).client.get("/api/v1/openapi.json").json()
    create = doc["paths"]["/api/v1/oncall/schedules"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    schema = doc["components"]["schemas"][create.rsplit("/", 1)[1]]
    assert {"code", "name", "time_zone", "layers"} <= set(schema["required"])
    layer = doc["components"]["schemas"]["LayerIn"]["properties"]
    assert layer["length_days"]["maximum"] == 28
    assert "/api/v1/oncall/schedules/{code}/swaps" in doc["paths"]
    assert "/api/v1/oncall/now" in doc["paths"]
