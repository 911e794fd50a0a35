"""/healthz, /readyz and /metrics: what load balancers and Prometheus read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from careline.core import services
from careline.engine.models import EngineNode
from tests.conftest import Hospital


def _bearer(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.create_token(None, user=user).secret}"}


def test_healthz_needs_no_login(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_reports_the_database_and_a_missing_engine(db: None) -> None:
    body = Client().get("/readyz").json()
    assert body["status"] == "ok"
    assert body["database"] in ("sqlite", "postgresql")
    assert body["engine"] == {"running": False, "leader": None, "heartbeat_age_s": None, "nodes": 0}


def test_readyz_reports_the_engine_heartbeat_age(db: None) -> None:
    now = timezone.now()
    EngineNode.objects.create(
        node_id="a",
        hostname="h",
        pid=1,
        started_at=now,
        last_beat=now - timedelta(seconds=3),
        is_leader=True,
    )
    EngineNode.objects.create(
        node_id="b", hostname="h", pid=2, started_at=now, last_beat=now - timedelta(seconds=4)
    )
    engine = Client().get("/readyz").json()["engine"]
    assert engine["running"] is True
    assert engine["leader"] == "a"
    assert engine["nodes"] == 2
    assert 2.5 <= engine["heartbeat_age_s"] <= 10


def test_a_dead_engine_shows_as_stopped_with_its_age(db: None) -> None:
    now = timezone.now()
    EngineNode.objects.create(
        node_id="a",
        hostname="h",
        pid=1,
        started_at=now,
        last_beat=now - timedelta(minutes=5),
        is_leader=True,
    )
    engine = Client().get("/readyz").json()["engine"]
    assert engine["running"] is False
    assert engine["leader"] is None
    assert engine["heartbeat_age_s"] >= 300


def test_metrics_want_a_token(hospital: Hospital) -> None:
    anonymous = Client().get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert Client().get("/metrics", headers={"Authorization": "Bearer cl_wrong"}).status_code == 401


def test_metrics_for_roles_that_may_read_them(hospital: Hospital) -> None:
    assert Client().get("/metrics", headers=_bearer(hospital.nurse)).status_code == 403
    assert Client().get("/metrics", headers=_bearer(hospital.auditor)).status_code == 403
    response = Client().get("/metrics", headers=_bearer(hospital.engineer))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert 'careline_users{role="requester"} 2.0' in text
    assert "careline_engine_running 0.0" in text
    assert "careline_audit_last_event_id" in text


def test_pages_need_login_but_probes_do_not(db: None) -> None:
    client = Client()
    assert client.get("/")["Location"] == "/login/?next=/"
    assert client.get("/login/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


def test_every_response_carries_a_request_id(db: None) -> None:
    response = Client().get("/healthz", headers={"X-Request-ID": "probe-12345678"})
    assert response["X-Request-ID"] == "probe-12345678"
    generated = Client().get("/healthz", headers={"X-Request-ID": "bad id with spaces"})[
        "X-Request-ID"
    ]
    assert len(generated) == 32
    assert " " not in generated
