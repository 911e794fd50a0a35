"""Sites, departments and clinical services over the API: who may, and what bad input gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from careline.core.models import AuditEvent, ClinicalService, Department, Site
from tests.conftest import Hospital

NEW_THINGS: dict[str, dict[str, Any]] = {
    "/sites": {"code": "EAST", "name": "Eastfield Clinic", "time_zone": "America/New_York"},
    "/departments": {
        "code": "NG-ICU",
        "name": "Intensive Care Unit",
        "site": "NORTH",
        "clinical_area": "icu",
    },
    "/services": {"code": "PACS", "name": "Picture archiving", "tier": 1},
}
EXISTING = {"/sites": "NORTH", "/departments": "NG-ED", "/services": "EHR"}


def _counts() -> tuple[int, int, int, int]:
    return (
        Site.objects.count(),
        Department.objects.count(),
        ClinicalService.objects.count(),
        AuditEvent.objects.count(),
    )


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/sites", "/departments", "/services", "/sites/NORTH", "/me", "/engine", "/audit"]
)
def test_every_endpoint_answers_401_without_credentials(api_as: Any, path: str) -> None:
    response = api_as(None).get(path)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


@pytest.mark.parametrize("path", ["/sites", "/departments", "/services"])
def test_a_wrong_or_revoked_token_is_401(api_as: Any, hospital: Hospital, path: str) -> None:
    from careline.core import services

    assert api_as(None).__class__("cl_not-a-real-token").get(path).status_code == 401
    issued = services.create_token(None, user=hospital.admin, name="old")
    services.revoke_token(None, issued.token.pk)
    assert api_as(None).__class__(issued.secret).get(path).status_code == 401


@pytest.mark.parametrize("path", list(NEW_THINGS))
@pytest.mark.parametrize(
    "persona", ["nurse", "agent", "engineer", "manager", "auditor", "outsider"]
)
def test_only_an_admin_may_create_places(
    api_as: Any, hospital: Hospital, path: str, persona: str
) -> None:
    api = api_as(getattr(hospital, persona))
    before = _counts()
    response = api.post(path, NEW_THINGS[path])
    assert response.status_code == 403, response.content
    assert "may not" in response.json()["detail"]
    assert _counts() == before


@pytest.mark.parametrize("path", list(NEW_THINGS))
def test_admin_creates_each_kind_and_reads_it_back(
    api_as: Any, hospital: Hospital, path: str
) -> None:
    api = api_as(hospital.admin)
    body = NEW_THINGS[path]
    created = api.post(path, body)
    assert created.status_code == 201, created.content
    assert created.json()["code"] == body["code"]
    one = api.get(f"{path}/{body['code']}")
    assert one.status_code == 200
    assert one.json() == created.json()
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None
    assert event.actor_name == hospital.admin.username
    assert event.action.endswith(".create")
    assert event.object_id
    assert event.after["code"] == body["code"]


def test_department_in_a_critical_area_is_critical_by_default(
    api_as: Any, hospital: Hospital
) -> None:
    api = api_as(hospital.admin)
    icu = api.post("/departments", NEW_THINGS["/departments"]).json()
    assert icu == {
        "code": "NG-ICU",
        "name": "Intensive Care Unit",
        "site": "NORTH",
        "clinical_area": "icu",
        "critical": True,
    }
    ward = api.post(
        "/departments",
        {"code": "NG-W4", "name": "Ward 4", "site": "NORTH", "clinical_area": "ward"},
    ).json()
    assert ward["critical"] is False
    # The hospital may say otherwise: a step-down ICU area it does not treat as critical.
    stepdown = api.post(
        "/departments",
        {
            "code": "NG-HDU",
            "name": "High dependency",
            "site": "NORTH",
            "clinical_area": "icu",
            "critical": False,
        },
    ).json()
    assert stepdown["critical"] is False


@pytest.mark.parametrize(
    "persona", ["nurse", "agent", "engineer", "manager", "auditor", "admin", "outsider"]
)
def test_everyone_signed_in_may_read_places(api_as: Any, hospital: Hospital, persona: str) -> None:
    api = api_as(getattr(hospital, persona))
    for path in ("/sites", "/departments", "/services"):
        response = api.get(path)
        assert response.status_code == 200
        assert response.json()["count"] >= 2


@pytest.mark.parametrize(
    ("persona", "status"),
    [("nurse", 403), ("agent", 403), ("manager", 403), ("auditor", 200), ("admin", 200)],
)
def test_only_auditors_and_admins_read_the_audit_trail(
    api_as: Any, hospital: Hospital, persona: str, status: int
) -> None:
    response = api_as(getattr(hospital, persona)).get("/audit")
    assert response.status_code == status
    if status == 200:
        assert {e["action"] for e in response.json()["items"]} >= {"site.create", "user.create"}


def test_me_says_who_the_caller_is(api_as: Any, hospital: Hospital) -> None:
    assert api_as(hospital.nurse).get("/me").json() == {
        "username": "maria",
        "display_name": "Maria",
        "role": "requester",
        "department": "NG-ED",
        "mfa_enrolled": False,
    }


# --- lists ------------------------------------------------------------------------------------


def test_lists_are_paginated_with_a_maximum_page_size(api_as: Any, hospital: Hospital) -> None:
    api = api_as(hospital.admin)
    page = api.get("/departments", limit=2, offset=1).json()
    assert page["count"] == 3
    assert [d["code"] for d in page["items"]] == ["NG-IT", "RV-W1"]
    too_many = api.get("/departments", limit=100000)
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "limit"
    assert api.get("/departments", limit=0).status_code == 422
    assert api.get("/departments", offset=-1).status_code == 422


def test_departments_filter_by_site_and_criticality(api_as: Any, hospital: Hospital) -> None:
    api = api_as(hospital.agent)
    assert [d["code"] for d in api.get("/departments", site="RIVER").json()["items"]] == ["RV-W1"]
    assert [d["code"] for d in api.get("/departments", critical="true").json()["items"]] == [
        "NG-ED"
    ]


@pytest.mark.parametrize("path", ["/sites", "/departments", "/services", "/audit"])
def test_list_queries_do_not_grow_with_rows(
    api_as: Any, hospital: Hospital, django_assert_max_num_queries: Any, path: str
) -> None:
    api = api_as(hospital.admin)
    for i in range(20):
        api.post(
            "/departments",
            {"code": f"D{i}", "name": f"Dept {i}", "site": "NORTH", "clinical_area": "ward"},
        )
    # token lookup + its last-used touch, count, page (+ session bookkeeping)
    with django_assert_max_num_queries(5):
        assert api.get(path, limit=100).status_code == 200


def test_unknown_code_in_the_path_is_404_naming_it(api_as: Any, hospital: Hospital) -> None:
    api = api_as(hospital.nurse)
    for path, noun in (
        ("/sites/NOPE", "site"),
        ("/departments/NOPE", "department"),
        ("/services/NOPE", "clinical service"),
    ):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": f"code: no {noun} has code 'NOPE'", "field": "code"}


# --- bad input: every case answered 4xx naming the field, nothing half-written --------------

BAD_BODIES: list[tuple[str, Any, int, str]] = [
    # path, body, status, field named in the detail
    ("/sites", {"name": "No code"}, 422, "code"),
    ("/sites", {"code": "", "name": "Empty code"}, 422, "code"),
    ("/sites", {"code": "lower", "name": "Lower-case code"}, 422, "code"),
    ("/sites", {"code": "X" * 33, "name": "Long code"}, 422, "code"),
    ("/sites", {"code": "EAST", "name": "   "}, 422, "name"),
    ("/sites", {"code": "EAST", "name": "N" * 201}, 422, "name"),
    ("/sites", {"code": "EAST", "name": "East", "time_zone": "Mars/Olympus"}, 422, "time_zone"),
    ("/sites", {"code": 12, "name": "Number code"}, 422, "code"),
    ("/sites", {"code": "NORTH", "name": "Duplicate"}, 409, "code"),
    ("/sites", ["a", "list"], 422, "code"),
    (
        "/departments",
        {"code": "NG-X", "name": "X", "site": "NOWHERE", "clinical_area": "ward"},
        404,
        "site",
    ),
    (
        "/departments",
        {"code": "NG-X", "name": "X", "site": "NORTH", "clinical_area": "canteen"},
        422,
        "clinical_area",
    ),
    (
        "/departments",
        {
            "code": "NG-X",
            "name": "X",
            "site": "NORTH",
            "clinical_area": "ward",
            "critical": "maybe",
        },
        422,
        "critical",
    ),
    (
        "/departments",
        {"code": "NG-ED", "name": "Dup", "site": "NORTH", "clinical_area": "ed"},
        409,
        "code",
    ),
    ("/services", {"code": "LIS", "name": "Lab", "tier": 4}, 422, "tier"),
    ("/services", {"code": "LIS", "name": "Lab", "tier": "one"}, 422, "tier"),
    ("/services", {"code": "LIS", "name": "Lab", "tier": None}, 422, "tier"),
    ("/services", {"code": "EHR", "name": "Dup", "tier": 1}, 409, "code"),
    ("/services", {"code": "LIS", "name": "Lab", "description": "d" * 5001}, 422, "description"),
]


@pytest.mark.parametrize(("path", "body", "status", "field"), BAD_BODIES)
def test_bad_bodies_are_refused_naming_the_field(
    api_as: Any, hospital: Hospital, path: str, body: Any, status: int, field: str
) -> None:
    api = api_as(hospital.admin)
    before = _counts()
    response = api.post(path, body)
    assert response.status_code == status, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert field in detail, detail
    assert _counts() == before


@pytest.mark.parametrize("path", list(NEW_THINGS))
@pytest.mark.parametrize(
    "raw", ["{not json", "", "null", '{"code": "A", "name": "B",}', "\x00\x01"]
)
def test_malformed_json_is_400_or_422(api_as: Any, hospital: Hospital, path: str, raw: str) -> None:
    api = api_as(hospital.admin)
    before = _counts()
    response = api.post(path, raw=raw)
    assert response.status_code in (400, 422), response.content
    assert response.json()["detail"]
    assert _counts() == before


@pytest.mark.parametrize("path", list(NEW_THINGS))
def test_oversized_body_is_413(api_as: Any, hospital: Hospital, path: str, settings: Any) -> None:
    api = api_as(hospital.admin)
    before = _counts()
    body = json.dumps(
        {**NEW_THINGS[path], "name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}
    )
    response = api.post(path, raw=body)
    assert response.status_code == 413
    assert "body" in response.json()["detail"]
    assert _counts() == before


def test_openapi_document_describes_every_body(api_as: Any, hospital: Hospital) -> None:
    doc = api_as(None).client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/sites", "/api/v1/departments", "/api/v1/services"):
        ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "$ref"
        ]
        schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert "code" in schema["required"]
    area = doc["components"]["schemas"]["ClinicalArea"]["enum"]
    assert {"ed", "icu", "or", "labour_delivery", "nicu", "pharmacy"} <= set(area)
