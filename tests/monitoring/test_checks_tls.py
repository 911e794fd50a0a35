"""tls checks: certificate expiry ahead of time, and chain, name and date validity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from careline.monitoring.checks import _net
from tests.monitoring import peers
from tests.monitoring.checking import check


@pytest.fixture(scope="module", autouse=True)
def _trust_test_ca() -> None:
    _net.trust_ca_file(str(peers.certificates().ca))


def serve(pair_name: str) -> int:
    certs = peers.certificates()
    return peers.start_http(
        {"/": peers.text("ok")}, certs.server_context(getattr(certs, pair_name))
    ).port


def test_valid_certificate_is_up_with_days_left_as_value() -> None:
    port = serve("valid")
    result = check("tls", {"host": "127.0.0.1", "port": port})
    assert result.status == "up", result
    assert result.value is not None
    assert 199 < result.value < 200.01
    assert result.detail["subject"] == "CN=127.0.0.1"
    assert result.detail["issuer"] == "CN=CareLine Test CA"
    assert check("tls", {"host": "localhost", "port": port}).status == "up"


def test_certificate_expiring_within_warn_days_is_degraded() -> None:
    port = serve("expiring_soon")
    result = check("tls", {"host": "127.0.0.1", "port": port, "warn_days": 21})
    assert result.status == "degraded"
    assert result.value is not None
    assert 5 <= result.value < 5.1
    assert result.error.startswith(f"certificate of 127.0.0.1:{port} expires in 5 days (")
    assert check("tls", {"host": "127.0.0.1", "port": port, "warn_days": 3}).status == "up"


def test_expired_certificate_is_down_with_negative_days() -> None:
    port = serve("expired")
    result = check("tls", {"host": "127.0.0.1", "port": port})
    assert result.status == "down"
    assert result.error == f"certificate of 127.0.0.1:{port} not valid: certificate has expired"
    assert result.value is not None
    assert -3.1 < result.value < -2.9
    assert "not_after" in result.detail


def test_self_signed_certificate_is_down() -> None:
    port = serve("self_signed")
    result = check("tls", {"host": "127.0.0.1", "port": port})
    assert result.status == "down"
    assert result.error == f"certificate of 127.0.0.1:{port} not valid: self-signed certificate"


def test_certificate_for_another_host_is_down_naming_the_mismatch() -> None:
    port = serve("wrong_name")
    result = check("tls", {"host": "localhost", "port": port})
    assert result.status == "down"
    assert result.error == (
        f"certificate of localhost:{port} not valid: "
        "Hostname mismatch, certificate is not valid for 'localhost'."
    )
    assert result.detail["subject"] == "CN=ehr.other-hospital.example"


def test_port_answering_garbage_and_refused_port_are_down() -> None:
    garbage = peers.start_garbage()
    result = check("tls", {"host": "127.0.0.1", "port": garbage.port})
    assert result.status == "down"
    assert result.error.startswith(f"TLS handshake with 127.0.0.1:{garbage.port} failed")
    port = peers.refused_port()
    refused = check("tls", {"host": "127.0.0.1", "port": port})
    assert refused.error == f"connection refused by 127.0.0.1:{port}"


def test_hanging_server_is_down_after_the_timeout() -> None:
    hanging = peers.start_hanging()
    result = check("tls", {"host": "127.0.0.1", "port": hanging.port}, timeout_s=0.5)
    assert result.status == "down"
    assert result.error == f"no TLS handshake with 127.0.0.1:{hanging.port} within 0.5 s"
    assert result.latency_ms < 1000


def test_the_hospital_ca_setting_is_trusted_by_a_started_careline(tmp_path: Path) -> None:
    """CARELINE_MONITOR_CA_FILE reaches the checks of a process started with it: a server
    whose certificate the hospital's CA signed is up there, and down without the setting."""
    port = serve("valid")
    script = (
        "import asyncio, django, os; os.environ['DJANGO_SETTINGS_MODULE']='careline.settings';"
        "django.setup(); from careline.monitoring import checks, configs;"
        f"config = configs.parse_config('tls', {{'host': '127.0.0.1', 'port': {port}}});"
        "print(asyncio.run(checks.run_check('tls', config, 5)).status)"
    )
    env = {"PATH": "/usr/bin:/bin", "CARELINE_DATA_DIR": str(tmp_path)}

    def status(extra: dict[str, str]) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    assert status({"CARELINE_MONITOR_CA_FILE": str(peers.certificates().ca)}) == "up"
    assert status({}) == "down"
