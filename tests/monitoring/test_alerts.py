"""Alert intake: Prometheus Alertmanager's webhook and a generic JSON alert."""

from __future__ import annotations

from typing import Any

import pytest

from careline.monitoring.models import MonitorIncident
from careline.servicedesk.models import Ticket
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db


def payload(status: str = "firing", *alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="EHRDown"}',
        "status": status,
        "receiver": "careline",
        "groupLabels": {"alertname": "EHRDown"},
        "commonLabels": {"alertname": "EHRDown", "service": "EHR"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "truncatedAlerts": 0,
        "alerts": list(alerts),
    }


def alert(status: str = "firing", fingerprint: str = "a1b2c3", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "EHRDown", "severity": "critical", **labels},
        "annotations": {"summary": "EHR application servers down", "description": "3 of 3 down"},
        "startsAt": "2026-11-24T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint,
    }


def test_firing_opens_one_incident_deduplicated_and_resolved_closes_it(
    api_as: Any, hospital: Hospital
) -> None:
    api = api_as(hospital.engineer)
    first = api.post("/alerts/alertmanager", payload("firing", alert()))
    assert first.status_code == 200, first.json()
    assert first.json()["opened"] == 1
    again = api.post("/alerts/alertmanager", payload("firing", alert()))
    assert again.json()["opened"] == 0
    assert again.json()["updated"] == 1
    incident = MonitorIncident.objects.get(alert_key="a1b2c3")
    ticket = incident.ticket
    assert ticket.service is not None
    assert ticket.service.code == "EHR"
    assert ticket.title == "EHR application servers down"
    assert ticket.care_effect == "blocked"  # severity critical
    done = api.post("/alerts/alertmanager", payload("resolved", alert("resolved")))
    assert done.json()["resolved"] == 1
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert Ticket.objects.count() == 1


def test_two_alerts_in_one_group_are_two_incidents(api_as: Any, hospital: Hospital) -> None:
    answer = api_as(hospital.engineer).post(
        "/alerts/alertmanager",
        payload("firing", alert(fingerprint="one"), alert(fingerprint="two", instance="b")),
    )
    assert answer.json()["opened"] == 2


def test_generic_alert_opens_and_resolves(api_as: Any, hospital: Hospital) -> None:
    api = api_as(hospital.engineer)
    opened = api.post(
        "/alerts/generic",
        {"title": "Pharmacy cabinet sync failing", "key": "cab-7", "service": "EHR"},
    )
    assert opened.json()["opened"] == 1
    resolved = api.post(
        "/alerts/generic",
        {"title": "Pharmacy cabinet sync failing", "key": "cab-7", "status": "resolved"},
    )
    assert resolved.json()["resolved"] == 1


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        ("{not json", 400, "body"),
        ('{"version": "4"}', 422, "groupKey"),
        (
            '{"version": "4", "groupKey": "g", "status": "firing", "alerts": [{"labels": {}}]}',
            422,
            "alerts.0.status",
        ),
        ('{"version": "4", "groupKey": "g", "status": "exploded", "alerts": []}', 422, "status"),
        ('{"version": "3", "groupKey": "g", "status": "firing", "alerts": []}', 422, "version"),
    ],
)
def test_malformed_alertmanager_payloads_are_refused_naming_the_field(
    api_as: Any, hospital: Hospital, raw: str, status: int, field: str
) -> None:
    answer = api_as(hospital.engineer).post("/alerts/alertmanager", raw=raw)
    assert answer.status_code == status
    assert field in answer.json()["detail"]
    assert not Ticket.objects.exists()


def test_unknown_service_label_is_404_naming_it(api_as: Any, hospital: Hospital) -> None:
    answer = api_as(hospital.engineer).post(
        "/alerts/alertmanager", payload("firing", alert(service="NOPE"))
    )
    assert answer.status_code == 404
    assert answer.json()["field"] == "alerts.0.labels.service"
    assert not Ticket.objects.exists()


def test_only_tokens_allowed_to_post_alerts(api_as: Any, hospital: Hospital) -> None:
    assert api_as(None).post("/alerts/alertmanager", payload("firing", alert())).status_code == 401
    assert api_as(hospital.agent).post("/alerts/generic", {"title": "x"}).status_code == 403
    refused = api_as(hospital.agent).post("/alerts/generic", {"title": "x", "service": "NOPE"})
    assert refused.status_code == 403
    assert not Ticket.objects.exists()
