"""The monitors API: create, read, change, pause, delete; credentials; bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from careline.monitoring.models import Monitor
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db

HTTP = {"url": "https://ehr.example.org/health", "keyword": "ok"}


def body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "EHR web",
        "kind": "http",
        "config": HTTP,
        "interval_s": 30,
        "retries": 3,
        "service": "EHR",
        "impact": {"care_effect": "blocked", "scope": "enterprise"},
        **fields,
    }


def test_engineer_creates_an_http_monitor_and_reads_it_back(
    api_as: Any, hospital: Hospital
) -> None:
    api = api_as(hospital.engineer)
    created = api.post("/monitors", body())
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["status"] == "unknown"
    assert data["ping_url"] is None
    assert data["service"] == "EHR"
    assert data["impact"] == {"care_effect": "blocked", "scope": "enterprise"}
    read = api.get(f"/monitors/{data['id']}").json()
    assert read["config"]["url"] == HTTP["url"]
    assert read["suppressed_by"] == []
    assert read["last_checked_at"] is None
    assert read["last_error"] == ""
    assert set(read["uptime"]) == {"last_24h", "last_7d", "last_30d"}
    listed = api.get("/monitors", service="EHR").json()
    assert [m["id"] for m in listed["items"]] == [data["id"]]


def test_heartbeat_answers_an_absolute_ping_url(
    api_as: Any, hospital: Hospital, settings: Any
) -> None:
    settings.BASE_URL = "https://careline.hospital.example"
    created = api_as(hospital.engineer).post(
        "/monitors",
        body(name="Backup", kind="heartbeat", config={"cron": "0 2 * * *", "tz": "Europe/London"}),
    )
    assert created.status_code == 201, created.json()
    monitor = Monitor.objects.get(pk=created.json()["id"])
    assert (
        created.json()["ping_url"] == f"https://careline.hospital.example/hb/{monitor.ping_token}"
    )
    assert monitor.next_due_at is not None


def test_credentials_are_encrypted_at_rest_and_never_returned(
    api_as: Any, hospital: Hospital
) -> None:
    api = api_as(hospital.engineer)
    dsn = "postgresql://monitor:S3cret-Pass@db.example.org:5432/ehr"
    created = api.post("/monitors", body(kind="postgres", config={"dsn": dsn, "query": "SELECT 1"}))
    assert created.status_code == 201, created.json()
    monitor_id = created.json()["id"]
    assert "S3cret-Pass" not in created.content.decode()
    assert "S3cret-Pass" not in api.get(f"/monitors/{monitor_id}").content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT config, secrets FROM monitoring_monitor WHERE id = %s", [monitor_id])
        raw = " ".join(str(v) for v in cursor.fetchone())
    assert "S3cret-Pass" not in raw
    # The full config, credentials included, is there for the check alone.
    assert Monitor.objects.get(pk=monitor_id).full_config()["dsn"] == dsn
    # Sending back what the API showed keeps the stored credential.
    shown = api.get(f"/monitors/{monitor_id}").json()["config"]
    changed = api.patch(f"/monitors/{monitor_id}", {"config": {**shown, "query": "SELECT 2"}})
    assert changed.status_code == 200, changed.json()
    kept = Monitor.objects.get(pk=monitor_id).full_config()
    assert kept["dsn"] == dsn
    assert kept["query"] == "SELECT 2"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"interval_s": 5}, "interval_s"),
        ({"interval_s": 100_000}, "interval_s"),
        ({"retries": 0}, "retries"),
        ({"kind": "telepathy"}, "kind"),
        ({"config": {"url": "not a url"}}, "config.url"),
        ({"config": {"url": "https://x.example", "colour": "red"}}, "config.colour"),
        ({"kind": "tcp", "config": {"host": "db.example", "port": 70000}}, "config.port"),
        ({"kind": "heartbeat", "config": {"grace_s": 60}}, "config.period_s"),
        ({"impact": {"care_effect": "catastrophic", "scope": "site"}}, "impact.care_effect"),
        ({"name": "   "}, "name"),
        ({"depends_on": [999999]}, "depends_on"),
        # PostgreSQL stores no NUL character, in text or in JSON.
        ({"name": "EHR\x00 web"}, "name"),
        ({"config": {"url": "https://ehr.example/\x00"}}, "config"),
        ({"tags": ["ok", "bad\x00"]}, "tags"),
    ],
)
def test_bad_monitor_input_is_refused_naming_the_field(
    api_as: Any, hospital: Hospital, change: dict[str, Any], field: str
) -> None:
    answer = api_as(hospital.engineer).post("/monitors", body(**change))
    assert answer.status_code in (404, 422), answer.json()
    assert field in answer.json()["detail"]
    assert not Monitor.objects.exists()


def test_unknown_service_is_404_naming_service(api_as: Any, hospital: Hospital) -> None:
    answer = api_as(hospital.engineer).post("/monitors", body(service="NOPE"))
    assert answer.status_code == 404
    assert answer.json()["field"] == "service"


def test_dependency_cycles_are_refused(api_as: Any, hospital: Hospital) -> None:
    """a <- b <- c; then a depending on c (a cycle of three) and on itself are refused."""
    api = api_as(hospital.engineer)
    a = api.post("/monitors", body(name="core switch")).json()["id"]
    b = api.post("/monitors", body(name="EHR db", depends_on=[a])).json()["id"]
    c = api.post("/monitors", body(name="EHR web", depends_on=[b])).json()["id"]
    cycle = api.patch(f"/monitors/{a}", {"depends_on": [c]})
    assert cycle.status_code == 422
    assert cycle.json()["field"] == "depends_on"
    itself = api.patch(f"/monitors/{a}", {"depends_on": [a]})
    assert itself.status_code == 422
    assert itself.json()["field"] == "depends_on"
    assert list(Monitor.objects.get(pk=a).depends_on.all()) == []
    assert api.get(f"/monitors/{c}").json()["depends_on"] == [b]


def test_pause_and_delete(api_as: Any, hospital: Hospital) -> None:
    api = api_as(hospital.engineer)
    monitor_id = api.post("/monitors", body()).json()["id"]
    paused = api.patch(f"/monitors/{monitor_id}", {"paused": True}).json()
    assert paused["status"] == "paused"
    resumed = api.patch(f"/monitors/{monitor_id}", {"paused": False}).json()
    assert resumed["status"] == "unknown"
    gone = api.client.delete(f"/api/v1/monitors/{monitor_id}", headers=api.headers)
    assert gone.status_code == 204
    assert api.get(f"/monitors/{monitor_id}").status_code == 404


def test_who_may_see_and_change_monitors(api_as: Any, hospital: Hospital) -> None:
    assert api_as(hospital.nurse).post("/monitors", body()).status_code == 403
    assert api_as(hospital.agent).post("/monitors", body()).status_code == 403
    assert api_as(hospital.nurse).get("/monitors").status_code == 403
    assert api_as(hospital.agent).get("/monitors").status_code == 200
    assert api_as(None).get("/monitors").status_code == 401
    assert not Monitor.objects.exists()


def test_openapi_shows_each_kinds_config(api_as: Any, hospital: Hospital) -> None:
    doc = api_as(hospital.engineer).client.get("/api/v1/openapi.json").json()
    request = doc["paths"]["/api/v1/monitors"]["post"]["requestBody"]
    variants = request["content"]["application/json"]["schema"]["oneOf"]
    by_kind = {v["properties"]["kind"]["const"]: v["properties"]["config"] for v in variants}
    assert set(by_kind) == {
        "http",
        "tcp",
        "dns",
        "tls",
        "postgres",
        "mysql",
        "hl7",
        "dicom",
        "fhir",
        "heartbeat",
    }
    assert "json_path" in by_kind["http"]["properties"]
    assert "called_ae" in by_kind["dicom"]["properties"]
    assert "grace_s" in by_kind["heartbeat"]["properties"]


def test_listing_monitors_costs_the_same_few_queries_for_many(
    api_as: Any, hospital: Hospital, django_assert_max_num_queries: Any
) -> None:
    api = api_as(hospital.engineer)
    first = api.post("/monitors", body(name="m0")).json()["id"]
    for i in range(1, 12):
        api.post("/monitors", body(name=f"m{i}", depends_on=[first]))
    with django_assert_max_num_queries(8):
        listed = api.get("/monitors", limit=50)
    assert listed.json()["count"] == 12
    assert listed.json()["items"][5]["depends_on"] == [first]


def test_timeout_defaults_inside_a_short_interval(api_as: Any, hospital: Hospital) -> None:
    api = api_as(hospital.engineer)
    short = api.post("/monitors", body(interval_s=10)).json()
    assert short["timeout_s"] == 8.0
    usual = api.post("/monitors", body(name="usual", interval_s=300)).json()
    assert usual["timeout_s"] == 10.0
    too_long = api.post("/monitors", body(name="slow", interval_s=10, timeout_s=12))
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "timeout_s"
