"""The on-call configuration API: who may read and change what, the secrets that never leave,
and bad input answered with a 4xx naming the field.

Bad input tried: a requester reading policies; an auditor and an engineer changing
policies, routes and targets; an engineer adding or removing someone else's contact; an
unknown contact kind and target_kind, a channel "fax", priority "P5", a phone number "12345",
wait_minutes 0, a hand-over to the policy itself, an unknown policy code, a duplicate code,
a target URL with credentials, and deleting a policy and a target still in use.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from careline.oncall.models import ContactMethod, EscalationPolicy, Schedule, WebhookTarget
from careline.oncall.services import targets
from tests.conftest import ApiClient, Hospital

pytestmark = pytest.mark.django_db

SLACK_URL = "https://hooks.slack.com/services/T0NORTH/B0ONCALL/xoxb-very-secret-token"
WEBHOOK_URL = "https://siem.northgate.example/intake/path-token-9f8e7d"


def put(api: ApiClient, path: str, body: Any) -> Any:
    return api.client.put(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=api.headers
    )


def delete(api: ApiClient, path: str) -> Any:
    return api.client.delete(f"/api/v1{path}", headers=api.headers)


@pytest.fixture
def schedule(hospital: Hospital) -> Schedule:
    return Schedule.objects.create(
        code="IT-ONCALL", name="IT on call", time_zone="America/New_York", created_at=timezone.now()
    )


POLICY = {
    "code": "CLINICAL",
    "name": "Clinical systems",
    "repeat": 1,
    "final_user": "helen",
    "levels": [
        {"target_kind": "schedule", "schedule": "IT-ONCALL", "channels": ["sms"]},
        {"target_kind": "person", "user": "helen", "wait_minutes": 10},
    ],
}


def test_policies_are_read_by_staff_changed_by_managers(
    api_as: Any, hospital: Hospital, schedule: Schedule
) -> None:
    manager, auditor = api_as(hospital.manager), api_as(hospital.auditor)
    engineer, nurse = api_as(hospital.engineer), api_as(hospital.nurse)
    assert nurse.get("/oncall/policies").status_code == 403
    assert engineer.post("/oncall/policies", POLICY).status_code == 403
    assert auditor.post("/oncall/policies", POLICY).status_code == 403
    created = manager.post("/oncall/policies", POLICY)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["levels"][0]["text"] == (
        "1. Whoever is on call on IT-ONCALL, by SMS; 5 minutes to acknowledge"
    )
    assert body["levels"][1]["user"] == "helen"
    assert body["final_user"] == "helen"
    assert auditor.get("/oncall/policies").json()[0]["code"] == "CLINICAL"
    assert engineer.get("/oncall/policies/CLINICAL").status_code == 200
    assert put(auditor, "/oncall/policies/CLINICAL", POLICY).status_code == 403
    assert delete(auditor, "/oncall/policies/CLINICAL").status_code == 403
    replaced = put(
        manager,
        "/oncall/policies/CLINICAL",
        {"name": "Clinical", "levels": [{"target_kind": "person", "user": "sam"}]},
    )
    assert replaced.status_code == 200, replaced.json()
    assert [lv["user"] for lv in replaced.json()["levels"]] == ["sam"]
    assert manager.post("/oncall/policies", POLICY).status_code == 409
    assert manager.get("/oncall/policies/NOPE").status_code == 404
    assert delete(manager, "/oncall/policies/CLINICAL").status_code == 204
    assert not EscalationPolicy.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (
            {"levels": [{"target_kind": "team", "schedule": "IT-ONCALL"}]},
            422,
            "levels.0.target_kind",
        ),
        (
            {"levels": [{"target_kind": "schedule", "schedule": "IT-ONCALL", "channels": ["fax"]}]},
            422,
            "levels.0.channels.0",
        ),
        (
            {"levels": [{"target_kind": "schedule", "schedule": "IT-ONCALL", "wait_minutes": 0}]},
            422,
            "levels.0.wait_minutes",
        ),
        ({"levels": [{"target_kind": "policy", "handover": "CLINICAL"}]}, 422, "levels.0.handover"),
        ({"levels": [{"target_kind": "schedule", "schedule": "NOPE"}]}, 404, "levels.0.schedule"),
        ({"levels": []}, 422, "levels"),
        ({"repeat": 10}, 422, "repeat"),
    ],
)
def test_bad_policies_get_a_4xx_naming_the_field(
    api_as: Any,
    hospital: Hospital,
    schedule: Schedule,
    change: dict[str, Any],
    status: int,
    field: str,
) -> None:
    answer = api_as(hospital.manager).post("/oncall/policies", {**POLICY, **change})
    assert answer.status_code == status
    assert field in answer.json()["detail"]
    assert not EscalationPolicy.objects.exists()


def test_routes_are_replaced_whole(api_as: Any, hospital: Hospital, schedule: Schedule) -> None:
    manager = api_as(hospital.manager)
    assert manager.post("/oncall/policies", POLICY).status_code == 201
    routes = {
        "routes": [
            {"priority": "P1", "service": "EHR", "policy": "CLINICAL"},
            {"priority": "P3", "policy": "CLINICAL"},
        ]
    }
    assert put(api_as(hospital.auditor), "/oncall/routes", routes).status_code == 403
    answer = put(manager, "/oncall/routes", routes)
    assert answer.status_code == 200, answer.json()
    assert [(r["service"], r["urgency"], r["text"]) for r in answer.json()] == [
        ("EHR", "page", "P1, EHR: page at once with CLINICAL"),
        (None, "business_hours", "P3, any service: email in business hours with CLINICAL"),
    ]
    assert len(api_as(hospital.agent).get("/oncall/routes").json()) == 2
    bad = put(manager, "/oncall/routes", {"routes": [{"priority": "P5", "policy": "CLINICAL"}]})
    assert bad.status_code == 422
    assert "routes.0.priority" in bad.json()["detail"]
    in_use = delete(manager, "/oncall/policies/CLINICAL")
    assert in_use.status_code == 409
    assert "routes P1 EHR, P3 any service" in in_use.json()["detail"]


def test_target_secrets_never_appear_in_an_answer(api_as: Any, hospital: Hospital) -> None:
    manager, engineer = api_as(hospital.manager), api_as(hospital.engineer)
    slack_body = {"code": "IT-SLACK", "name": "IT on call", "kind": "slack", "url": SLACK_URL}
    assert engineer.post("/oncall/targets", slack_body).status_code == 403
    slack = manager.post("/oncall/targets", slack_body)
    assert slack.status_code == 201
    assert slack.json()["url"] == "https://hooks.slack.com/…"
    assert slack.json()["signing_key"] is None
    hook = manager.post(
        "/oncall/targets",
        {"code": "SIEM", "name": "Security events", "kind": "webhook", "url": WEBHOOK_URL},
    )
    assert hook.status_code == 201
    key = hook.json()["signing_key"]
    assert key == targets.signing_key_of(WebhookTarget.objects.get(code="SIEM"))
    patched = manager.patch("/oncall/targets/SIEM", {"name": "SIEM intake", "url": WEBHOOK_URL})
    assert patched.status_code == 200
    answers = [
        slack.content,
        patched.content,
        engineer.get("/oncall/targets").content,
        api_as(hospital.auditor).get("/oncall/targets/SIEM").content,
        manager.get("/oncall/targets/IT-SLACK").content,
    ]
    for content in answers:
        text = content.decode()
        assert "xoxb-very-secret-token" not in text
        assert "path-token-9f8e7d" not in text
        assert "/services/" not in text
    for content in answers[1:]:
        assert key not in content.decode()
    listed = engineer.get("/oncall/targets").json()
    assert [(t["code"], t["url"], t["has_signing_key"]) for t in listed] == [
        ("IT-SLACK", "https://hooks.slack.com/…", False),
        ("SIEM", "https://siem.northgate.example/…", True),
    ]
    assert api_as(hospital.nurse).get("/oncall/targets").status_code == 403
    bad = manager.post(
        "/oncall/targets",
        {**slack_body, "code": "BAD", "url": "https://u:p@hooks.slack.com/services/x"},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "url"
    assert "u:p" not in bad.content.decode()
    assert manager.get("/oncall/targets/NOPE").status_code == 404
    assert manager.post("/oncall/targets", slack_body).status_code == 409


def test_engineers_manage_only_their_own_contacts_and_rules(
    api_as: Any, hospital: Hospital
) -> None:
    sam, helen = api_as(hospital.engineer), api_as(hospital.manager)
    added = sam.post("/oncall/contacts", {"kind": "sms", "address": "(617) 555-0101"})
    assert added.status_code == 201, added.json()
    assert added.json()["address"] == "+16175550101"
    helens = helen.post("/oncall/contacts", {"kind": "email", "address": "helen@northgate.example"})
    assert helens.status_code == 201
    assert (
        sam.post(
            "/oncall/contacts", {"kind": "sms", "address": "+16175550199", "user": "helen"}
        ).status_code
        == 403
    )
    assert delete(sam, f"/oncall/contacts/{helens.json()['id']}").status_code == 403
    assert sam.get("/oncall/contacts", user="helen").status_code == 403
    assert [c["address"] for c in helen.get("/oncall/contacts", user="sam").json()] == [
        "+16175550101"
    ]
    assert [c["kind"] for c in sam.get("/oncall/contacts").json()] == ["sms"]
    foreign_rule = sam.post("/oncall/rules", {"priority": "P1", "method": helens.json()["id"]})
    assert foreign_rule.status_code == 422
    assert foreign_rule.json()["field"] == "method"
    rule = sam.post(
        "/oncall/rules", {"priority": "P1", "method": added.json()["id"], "delay_minutes": 2}
    )
    assert rule.status_code == 201, rule.json()
    assert rule.json()["method_kind"] == "sms"
    assert sam.get("/oncall/rules").json()[0]["delay_minutes"] == 2
    by_manager = helen.post(
        "/oncall/rules", {"priority": "P2", "method": added.json()["id"], "user": "sam"}
    )
    assert by_manager.status_code == 201
    assert delete(sam, f"/oncall/rules/{by_manager.json()['id']}").status_code == 204
    assert (
        api_as(hospital.nurse)
        .post("/oncall/contacts", {"kind": "sms", "address": "+16175550199"})
        .status_code
        == 403
    )
    assert delete(sam, f"/oncall/contacts/{added.json()['id']}").status_code == 204
    assert delete(sam, f"/oncall/contacts/{added.json()['id']}").status_code == 404
    assert list(ContactMethod.objects.values_list("user__username", flat=True)) == ["helen"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/oncall/contacts", {"kind": "pager", "address": "x"}, "kind"),
        ("/oncall/contacts", {"kind": "sms", "address": "12345"}, "address"),
        ("/oncall/contacts", {"kind": "chat", "address": "@sam"}, "target"),
        ("/oncall/rules", {"priority": "P5", "method": 1}, "priority"),
    ],
)
def test_bad_contacts_and_rules_get_a_422_naming_the_field(
    api_as: Any, hospital: Hospital, path: str, body: dict[str, Any], field: str
) -> None:
    answer = api_as(hospital.engineer).post(path, body)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(f"{field}:")
    assert not ContactMethod.objects.exists()


def test_the_openapi_document_lists_the_enum_values(api_as: Any, hospital: Hospital) -> None:
    doc = api_as(hospital.engineer).client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert schemas["ContactKind"]["enum"] == ["email", "sms", "voice", "chat"]
    assert schemas["TargetKind"]["enum"] == ["schedule", "person", "queue", "policy"]
    assert schemas["Urgency"]["enum"] == ["page", "business_hours"]
    assert set(schemas["TargetIn"]["properties"]["kind"]["enum"]) == {"slack", "teams", "webhook"}
    assert "/api/v1/oncall/routes" in doc["paths"]
    assert "put" in doc["paths"]["/api/v1/oncall/policies/{code}"]


def test_lists_cost_a_fixed_number_of_queries(
    api_as: Any, hospital: Hospital, schedule: Schedule, django_assert_max_num_queries: Any
) -> None:
    manager = api_as(hospital.manager)
    for n in range(6):
        levels = [
            {"target_kind": "schedule", "schedule": "IT-ONCALL"},
            {"target_kind": "person", "user": "helen"},
            {"target_kind": "queue", "queue": "NETWORK"},
        ] + ([{"target_kind": "policy", "handover": f"P{n - 1}"}] if n else [])
        body = {"code": f"P{n}", "name": f"Policy {n}", "final_user": "alex", "levels": levels}
        assert manager.post("/oncall/policies", body).status_code == 201
    routes = [{"priority": p, "service": "EHR", "policy": "P0"} for p in ("P1", "P2", "P3")]
    assert put(manager, "/oncall/routes", {"routes": routes}).status_code == 200
    for n in range(4):
        manager.post(
            "/oncall/targets",
            {"code": f"T{n}", "name": "Target", "kind": "slack", "url": SLACK_URL},
        )
    manager.get("/oncall/policies")  # the token's first use is written once
    with django_assert_max_num_queries(3):
        listed = manager.get("/oncall/policies").json()
    assert len(listed) == 6
    assert listed[5]["levels"][3]["text"] == "4. Hand over to policy P4"
    with django_assert_max_num_queries(2):
        assert len(manager.get("/oncall/routes").json()) == 3
    with django_assert_max_num_queries(2):
        assert len(manager.get("/oncall/targets").json()) == 4
