"""fhir checks against a real HTTP server publishing CapabilityStatements."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.monitoring import peers
from tests.monitoring.checking import check


def capability(version: str = "4.0.1", status: str = "active", **extra: Any) -> str:
    return json.dumps(
        {
            "resourceType": "CapabilityStatement",
            "status": status,
            "date": "2025-01-01",
            "kind": "instance",
            "fhirVersion": version,
            "format": ["application/fhir+json"],
            "software": {"name": "Northgate FHIR", "version": "7.2"},
            "rest": [
                {
                    "mode": "server",
                    "resource": [{"type": "Patient", "interaction": [{"code": "read"}]}],
                }
            ],
            **extra,
        }
    )


@pytest.fixture(scope="module")
def fhir() -> peers.HttpPeer:
    accept_seen: list[str] = []

    async def r4(request: peers.Request) -> peers.Response:
        accept_seen.append(request.headers.get("accept", ""))
        if request.headers.get("accept") != "application/fhir+json":
            return peers.Response(406, b"not acceptable")
        return peers.Response(200, capability().encode(), "application/fhir+json")

    return peers.start_http(
        {
            "/r4/metadata": r4,
            "/r5/metadata": peers.json_body(capability("5.0.0")),
            "/stu3/metadata": peers.json_body(capability("3.0.2", acceptUnknown="no")),
            "/stu3-incomplete/metadata": peers.json_body(capability("3.0.2")),
            "/retired/metadata": peers.json_body(capability(status="retired")),
            "/draft/metadata": peers.json_body(capability(status="draft")),
            "/invalid/metadata": peers.json_body(capability(date="last tuesday")),
            "/patient/metadata": peers.json_body(
                json.dumps({"resourceType": "Patient", "id": "1"})
            ),
            "/html/metadata": peers.text("<html>Login</html>", content_type="text/html"),
            "/broken/metadata": peers.text("error", status=500),
            "/future/metadata": peers.json_body(capability("9.9.9")),
        }
    )


def test_active_r4_capability_statement_is_up_with_its_version(fhir: peers.HttpPeer) -> None:
    result = check("fhir", {"base_url": fhir.base + "/r4/"}, timeout_s=20)
    assert result.status == "up", result
    assert result.detail == {"fhir_version": "4.0.1", "software": "Northgate FHIR 7.2"}


def test_r5_and_stu3_servers_are_read_with_their_own_release(fhir: peers.HttpPeer) -> None:
    r5 = check("fhir", {"base_url": fhir.base + "/r5"}, timeout_s=20)
    assert r5.status == "up", r5
    assert r5.detail["fhir_version"] == "5.0.0"
    stu3 = check("fhir", {"base_url": fhir.base + "/stu3"}, timeout_s=20)
    assert stu3.status == "up", stu3
    assert stu3.detail["fhir_version"] == "3.0.2"


def test_statement_that_is_not_active_is_down(fhir: peers.HttpPeer) -> None:
    retired = check("fhir", {"base_url": fhir.base + "/retired"}, timeout_s=20)
    assert retired.status == "down"
    assert (
        retired.error
        == f"the CapabilityStatement at {fhir.base}/retired/metadata is 'retired', not 'active'"
    )
    assert retired.detail["fhir_version"] == "4.0.1"
    assert check("fhir", {"base_url": fhir.base + "/draft"}, timeout_s=20).status == "down"


def test_invalid_or_wrong_resources_are_down(fhir: peers.HttpPeer) -> None:
    invalid = check("fhir", {"base_url": fhir.base + "/invalid"}, timeout_s=20)
    assert invalid.status == "down"
    assert invalid.error.startswith(
        f"the CapabilityStatement at {fhir.base}/invalid/metadata is not valid FHIR 4.0.1: date: "
        "DateTime value string does not match spec regex."
    )
    # STU3 requires acceptUnknown, which R4 dropped: each release is checked by its own rules.
    stu3 = check("fhir", {"base_url": fhir.base + "/stu3-incomplete"}, timeout_s=20)
    assert stu3.status == "down"
    assert "acceptUnknown" in stu3.error
    patient = check("fhir", {"base_url": fhir.base + "/patient"}, timeout_s=20)
    assert (
        patient.error
        == f"{fhir.base}/patient/metadata answered Patient instead of a CapabilityStatement"
    )
    html = check("fhir", {"base_url": fhir.base + "/html"}, timeout_s=20)
    assert html.error == f"the answer from {fhir.base}/html/metadata is not JSON"
    broken = check("fhir", {"base_url": fhir.base + "/broken"}, timeout_s=20)
    assert broken.error == f"HTTP 500 from {fhir.base}/broken/metadata"
    future = check("fhir", {"base_url": fhir.base + "/future"}, timeout_s=20)
    assert (
        future.error
        == f"the CapabilityStatement at {fhir.base}/future/metadata declares an unknown FHIR version '9.9.9'"
    )


def test_hanging_and_refusing_fhir_servers_are_down() -> None:
    hanging = peers.start_hanging()
    result = check("fhir", {"base_url": f"http://127.0.0.1:{hanging.port}/r4"}, timeout_s=0.5)
    assert (
        result.error == f"no answer from http://127.0.0.1:{hanging.port}/r4/metadata within 0.5 s"
    )
    port = peers.refused_port()
    refused = check("fhir", {"base_url": f"http://127.0.0.1:{port}"})
    assert refused.error == f"connection refused by http://127.0.0.1:{port}/metadata"
