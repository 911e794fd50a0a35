"""Heartbeat pings against a real `careline serve` (the production web server), on SQLite
and PostgreSQL: the first middleware answers them, and a ping survives the database
dropping the server's kept connection."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.monitoring.test_engine_process import _sql
from tests.processes import free_port, wait_for

pytestmark = pytest.mark.django_db

MAKE_HEARTBEAT = """
from careline.monitoring.services import monitors
beat = monitors.create_monitor(None, {"name": "Nightly backup", "kind": "heartbeat",
    "config": {"period_s": 3600, "grace_s": 60}})
print(beat.ping_token)
"""


def _answer(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310  (a local test server)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def _serving(base: str) -> bool:
    with contextlib.suppress(OSError):
        return _answer(f"{base}/healthz")[0] == 200
    return False


@pytest.fixture
def served(scratch_db_env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**scratch_db_env, "CARELINE_PORT": str(free_port())}
    server = subprocess.Popen(
        [sys.executable, "-m", "careline.cli", "serve", "--no-migrate", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['CARELINE_PORT']}"
    try:
        wait_for("careline serve", lambda: _serving(base), 60)
        yield base, env
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_pings_reach_the_database_through_the_real_server(
    served: tuple[str, dict[str, str]],
) -> None:
    base, env = served
    token = subprocess.run(
        [sys.executable, "-m", "careline.cli", "shell", "-c", MAKE_HEARTBEAT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    status, body = _answer(f"{base}/hb/{token}?value=83.5")
    assert (status, body) == (200, b"OK\n")
    assert _answer(f"{base}/hb/{token}/start", "POST", b"backup started")[0] == 200
    assert _answer(f"{base}/hb/{token}", "HEAD")[0] == 200

    if "DATABASE_URL" in env:
        # The database drops every connection the server keeps (a restart, a failover): the
        # next ping finds its connection dead, takes a new one and is still stored.
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            dropped = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert dropped is not None
        assert dropped[0] >= 1
    assert _answer(f"{base}/hb/{token}/fail")[0] == 200

    # Refused, and nothing written: an unknown id, a malformed id, a bad value, a PUT.
    assert _answer(f"{base}/hb/{uuid.uuid4()}")[0] == 404
    assert _answer(f"{base}/hb/not-a-uuid")[0] == 404
    status, body = _answer(f"{base}/hb/{token}?value=lots")
    assert status == 400
    assert b"value:" in body
    status, _ = _answer(f"{base}/hb/{token}", "PUT", b"")
    assert status == 405

    kinds = _sql(
        env,
        "SELECT p.kind, p.value, p.body FROM monitoring_heartbeatping p "
        "JOIN monitoring_monitor m ON m.id = p.monitor_id WHERE m.ping_token = ? ORDER BY p.id",
        (token if "DATABASE_URL" in env else token.replace("-", ""),),
    )
    assert kinds == [
        ("ping", 83.5, ""),
        ("start", None, "backup started"),
        ("ping", None, ""),
        ("fail", None, ""),
    ]
