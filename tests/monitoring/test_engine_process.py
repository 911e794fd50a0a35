"""The monitoring loops inside a real `careline run` (web server and engine processes):
a check's result is recorded and a heartbeat's ping is judged, through the database only."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.processes import free_port, wait_for

pytestmark = pytest.mark.django_db


def _sql(env: dict[str, str], sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read or change the subprocesses' database directly, as an operator's psql would."""
    if "DATABASE_URL" in env:
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []
    path = Path(env["CARELINE_DATA_DIR"]) / "careline.sqlite3"
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
        rows = list(conn.execute(sql, params).fetchall())
        conn.commit()
        return rows


def _call(url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310  (a local test server)
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read())


@pytest.fixture
def tcp_target() -> Iterator[int]:
    """A real TCP listener that accepts and closes, on a thread of this process."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = server.accept()
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


# One process instead of two (createuser, token create): each start costs seconds.
MAKE_TOKEN = """
from careline.core import services
user = services.create_user(None, username="sam", role="engineer")
print(services.create_token(None, user=user, name="test").secret)
"""


def test_careline_run_checks_monitors_and_judges_pings(
    scratch_db_env: dict[str, str], tcp_target: int
) -> None:
    port = free_port()
    env = {**scratch_db_env, "CARELINE_PORT": str(port), "CARELINE_WEB_WORKERS": "1"}
    base = f"http://127.0.0.1:{port}"

    def careline(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "careline.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    run = subprocess.Popen(
        [sys.executable, "-m", "careline.cli", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for("the web server and engine", lambda: _up(base), 90)
        token = careline("shell", "-c", MAKE_TOKEN).strip().splitlines()[-1]
        tcp = _call(
            f"{base}/api/v1/monitors",
            token,
            {
                "name": "Core switch",
                "kind": "tcp",
                "interval_s": 10,
                "config": {"host": "127.0.0.1", "port": tcp_target},
            },
        )
        beat = _call(
            f"{base}/api/v1/monitors",
            token,
            {
                "name": "Nightly backup",
                "kind": "heartbeat",
                "config": {"period_s": 3600, "grace_s": 60},
            },
        )
        # Due now rather than within its first interval.
        _sql(
            env,
            "UPDATE monitoring_monitor SET next_due_at = ? WHERE id = ?",
            (
                "2000-01-01 00:00:00" if "DATABASE_URL" not in env else "2000-01-01T00:00:00Z",
                tcp["id"],
            ),
        )
        with urllib.request.urlopen(beat["ping_url"] + "?value=42", timeout=10) as answer:  # noqa: S310
            assert answer.status == 200
        wait_for("the check's result", lambda: _status(base, token, tcp["id"]) == "up", 60)
        wait_for("the ping judged", lambda: _status(base, token, beat["id"]) == "up", 20)
        results = _call(f"{base}/api/v1/monitors/{tcp['id']}/results", token)
        assert results[0]["status"] == "up"
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=30)


def _up(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:  # noqa: S310
            return bool(json.loads(answer.read())["engine"]["running"])
    except OSError:
        return False


def _status(base: str, token: str, monitor_id: int) -> str:
    return str(_call(f"{base}/api/v1/monitors/{monitor_id}", token)["status"])
