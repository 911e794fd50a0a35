"""Who reads the status page and GET /api/v1/status: signed-in staff always; anonymous
visitors only when the page is public and they connect from the hospital's networks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from careline.core import services
from careline.reports.status import access
from tests.conftest import Hospital
from tests.reports.status_setup import monitor

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]


def visitor(address: str, **headers: Any) -> Client:
    return Client(REMOTE_ADDR=address, **headers)


@pytest.fixture
def public(settings: Any) -> Any:
    settings.STATUS_PUBLIC = True
    return settings


def test_anonymous_visitors_sign_in_while_the_page_is_not_public(hospital: Hospital) -> None:
    """Public off (the default), even from inside the hospital network."""
    inside = visitor("10.20.30.40")
    page = inside.get("/status/")
    assert page.status_code == 302
    assert page["Location"] == "/login/?next=/status/"
    answer = inside.get("/api/v1/status")
    assert answer.status_code == 401
    assert "detail" in answer.json()
    # No link on the sign-in page either.
    assert "Service status" not in inside.get("/login/").content.decode()


@pytest.mark.parametrize(
    "address",
    [
        "10.20.30.40",
        "172.16.5.1",
        "192.168.1.10",
        "127.0.0.1",
        "::1",
        "fd12:3456::1",
        "::ffff:10.0.0.5",
    ],
)
def test_public_page_is_open_to_the_hospital_networks(
    hospital: Hospital, public: Any, address: str
) -> None:
    monitor("EHR web", "up")
    inside = visitor(address)
    page = inside.get("/status/")
    assert page.status_code == 200
    assert "Electronic health record" in page.content.decode()
    assert page["Cache-Control"] == "no-store"
    body = inside.get("/api/v1/status").json()
    assert [(s["code"], s["state"]) for s in body["services"]] == [
        ("EHR", "operational"),
        ("PRINT", "unknown"),
    ]
    login = inside.get("/login/").content.decode()
    assert '<a href="/status/">Service status</a>' in login


@pytest.mark.parametrize("address", ["8.8.8.8", "172.32.0.1", "2001:db8::1", "", "not-an-ip"])
def test_public_page_is_closed_to_everyone_else(
    hospital: Hospital, public: Any, address: str
) -> None:
    """Addresses outside every private range, an empty one and a malformed one."""
    outside = visitor(address)
    assert outside.get("/status/").status_code == 302
    assert outside.get("/api/v1/status").status_code == 401
    assert "Service status" not in outside.get("/login/").content.decode()


def test_a_forwarded_for_header_is_never_believed(hospital: Hospital, public: Any) -> None:
    """CareLine has no trusted-proxy setting: anyone can send X-Forwarded-For."""
    liar = visitor("8.8.8.8", HTTP_X_FORWARDED_FOR="10.0.0.1", HTTP_X_REAL_IP="10.0.0.1")
    assert liar.get("/status/").status_code == 302
    assert liar.get("/api/v1/status").status_code == 401


def test_the_hospital_names_its_own_networks(hospital: Hospital, public: Any) -> None:
    public.STATUS_NETWORKS = ["203.0.113.0/24", "2001:db8:10::/48"]
    assert visitor("203.0.113.77").get("/status/").status_code == 200
    assert visitor("2001:db8:10::9").get("/status/").status_code == 200
    assert visitor("10.0.0.1").get("/status/").status_code == 302


def test_signed_in_staff_read_it_from_anywhere(hospital: Hospital) -> None:
    """Public off, and an address outside every network: a session or a token is enough."""
    nurse = visitor("8.8.8.8")
    nurse.force_login(hospital.nurse)
    page = nurse.get("/status/")
    assert page.status_code == 200
    # The menu leads there for everyone signed in.
    assert '<a href="/status/" aria-current="page">Status</a>' in page.content.decode()
    assert nurse.get("/api/v1/status").status_code == 200
    token = services.create_token(None, user=hospital.outsider, name="wallboard").secret
    answer = visitor("8.8.8.8").get("/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    wrong = visitor("8.8.8.8").get("/api/v1/status", headers={"Authorization": "Bearer cl_nope"})
    assert wrong.status_code == 401


def test_the_page_refreshes_itself_with_htmx(hospital: Hospital, public: Any) -> None:
    inside = visitor("10.0.0.9")
    page = inside.get("/status/").content.decode()
    assert 'hx-trigger="every 60s"' in page
    assert "X-CareLine-Background" in page
    refresh = inside.get("/status/", headers={"HX-Request": "true"})
    body = refresh.content.decode()
    assert refresh.status_code == 200
    assert body.lstrip().startswith('<div id="status-body"')
    assert "<html" not in body
    # The visitor has left the network (or the page was made private): off to sign in.
    public.STATUS_PUBLIC = False
    gone = inside.get("/status/", headers={"HX-Request": "true"})
    assert gone.status_code == 204
    assert gone["HX-Redirect"] == "/login/?next=/status/"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["10.0.0.0/33"], "10.0.0.0/33"),
        (["10.0.0.1/8"], "did you mean 10.0.0.0/8?"),
        (["hospital-lan"], "'hospital-lan' does not appear to be an IPv4 or IPv6 network"),
        (["192.168.0.0/16", "fc00::/129"], "fc00::/129"),
    ],
)
def test_a_bad_network_setting_stops_start_up(settings: Any, raw: list[str], message: str) -> None:
    """A prefix too long, host bits set, a name instead of a network, a bad IPv6 prefix."""
    settings.STATUS_NETWORKS = raw
    with pytest.raises(ImproperlyConfigured, match="CARELINE_STATUS_NETWORKS") as bad:
        apps.get_app_config("reports").ready()
    assert message in str(bad.value)


def test_a_public_page_needs_at_least_one_network(settings: Any) -> None:
    settings.STATUS_PUBLIC = True
    settings.STATUS_NETWORKS = []
    with pytest.raises(ImproperlyConfigured, match="is empty while CARELINE_STATUS_PUBLIC is on"):
        access.networks()
    settings.STATUS_PUBLIC = False
    assert access.networks() == ()


def test_the_careline_command_names_the_bad_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CARELINE_STATUS_NETWORKS"] = "10.0.0.0/8,10.1.2.3/16"
    done = subprocess.run(
        [sys.executable, "-m", "careline.cli", "check"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "careline: configuration error: CARELINE_STATUS_NETWORKS must be a comma-separated "
        "list of networks such as 10.0.0.0/8 (10.1.2.3/16 has host bits set; did you mean "
        "10.1.0.0/16?)"
    )
