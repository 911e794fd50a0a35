"""Who may call which API endpoint, and the browser session's CSRF rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from careline.core.links import absolute_url
from tests.conftest import Hospital

READS = [
    "/me",
    "/sites",
    "/sites/NORTH",
    "/departments",
    "/departments/NG-ED",
    "/services",
    "/services/EHR",
    "/engine",
    "/audit",
    "/tickets",
    "/incidents/known",
    "/queues",
    "/routing-rules",
    "/sla-policies",
]
# Which personas get 403 on which read; everyone else gets 200.
FORBIDDEN = {
    "/engine": {"nurse", "outsider"},
    "/audit": {"nurse", "outsider", "agent", "engineer", "manager"},
    "/queues": {"nurse", "outsider"},
    "/routing-rules": {"nurse", "outsider"},
    "/sla-policies": {"nurse", "outsider"},
}


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize(
    "persona", ["nurse", "outsider", "agent", "engineer", "manager", "auditor", "admin"]
)
def test_read_permissions(api_as: Any, hospital: Hospital, path: str, persona: str) -> None:
    expected = 403 if persona in FORBIDDEN.get(path, set()) else 200
    response = api_as(getattr(hospital, persona)).get(path)
    assert response.status_code == expected, (path, persona, response.content)


def test_a_browser_session_may_use_the_api_with_its_csrf_token(hospital: Hospital) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(hospital.admin)
    assert client.get("/api/v1/me").json()["username"] == "alex"
    body = json.dumps({"code": "EAST", "name": "Eastfield"})
    refused = client.post("/api/v1/sites", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get("/")  # the page sets the CSRF cookie, as a browser would get it
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/v1/sites", body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201


def test_absolute_links_use_the_base_url(settings: Any) -> None:
    settings.BASE_URL = "https://careline.example-hospital.org"
    assert absolute_url("/tickets/12/") == "https://careline.example-hospital.org/tickets/12/"
    with pytest.raises(ValueError, match="path must start with '/'"):
        absolute_url("tickets/12/")
