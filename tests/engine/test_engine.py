"""The engine runner: leadership lease, standby take-over, clean shutdown, start-up migration.

The lease rules are tested in-process; the processes themselves are real `careline`
subprocesses on a database of their own, killed and stopped the way an operator would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine
from django.conf import settings as django_settings

from careline.engine import leases
from careline.engine.maintenance import optimise_database
from careline.engine.models import Lease
from careline.engine.runner import REGISTRY
from tests.processes import free_port, wait_for

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

# --- the lease, in-process ------------------------------------------------------------------


def test_one_holder_at_a_time(db: None) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        assert leases.acquire("leader", "a", 20)
        assert not leases.acquire("leader", "b", 20)
        assert leases.acquire("leader", "a", 20)  # renewal
        clock.shift(timedelta(seconds=19))
        assert not leases.acquire("leader", "b", 20)
        assert leases.holder_of("leader") == "a"


def test_a_lapsed_lease_passes_to_the_next_engine(db: None) -> None:
    with time_machine.travel(T0, tick=False) as clock:
        assert leases.acquire("leader", "a", 20)
        clock.shift(timedelta(seconds=21))
        assert leases.holder_of("leader") is None
        assert leases.acquire("leader", "b", 20)
        # The old leader, back from a long pause, must not believe it still leads.
        assert not leases.acquire("leader", "a", 20)
        assert Lease.objects.get(name="leader").acquired_at == T0 + timedelta(seconds=21)


def test_a_released_lease_is_free_at_once(db: None) -> None:
    assert leases.acquire("leader", "a", 20)
    leases.release("leader", "b")  # not b's to release
    assert not leases.acquire("leader", "b", 20)
    leases.release("leader", "a")
    assert leases.acquire("leader", "b", 20)


def test_default_timing_keeps_takeover_within_thirty_seconds() -> None:
    assert django_settings.ENGINE_LEASE_SECONDS + django_settings.ENGINE_TICK_SECONDS <= 30


# --- real processes ---------------------------------------------------------------------------


def _careline(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "careline.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _query(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    """Read the subprocesses' database directly, as an operator's psql would."""
    if "DATABASE_URL" in env:
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            try:
                return list(conn.execute(sql).fetchall())
            except psycopg.errors.UndefinedTable:
                return []  # tables not there yet
    path = Path(env["CARELINE_DATA_DIR"]) / "careline.sqlite3"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
        try:
            return list(conn.execute(sql).fetchall())
        except sqlite3.OperationalError:
            return []  # tables not there yet


def _leader(env: dict[str, str]) -> str | None:
    rows = _query(
        env, "SELECT holder FROM engine_lease WHERE name = 'engine-leader' AND holder <> ''"
    )
    return rows[0][0] if rows else None


def _nodes(env: dict[str, str]) -> dict[str, tuple[int, bool, bool]]:
    rows = _query(env, "SELECT node_id, pid, is_leader, stopped_at FROM engine_enginenode")
    return {r[0]: (r[1], bool(r[2]), r[3] is not None) for r in rows}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_two_engines_start_at_once_one_leads_the_other_takes_over(
    scratch_db_env: dict[str, str], processes: list[subprocess.Popen[bytes]]
) -> None:
    env = scratch_db_env
    # Both start at once on a migrated database (migrating an older one at once is the next
    # test's business).
    first, second = _careline(env, "engine"), _careline(env, "engine")
    processes += [first, second]
    wait_for("two engines to register", lambda: len(_nodes(env)) == 2, 60)
    leader_id = wait_for("a leader", lambda: _leader(env), 30)
    nodes = _nodes(env)
    leader_pid = nodes[leader_id][0]
    standby_id = next(node for node in nodes if node != leader_id)
    assert wait_for("the leader to mark itself", lambda: _nodes(env)[leader_id][1], 15)
    assert not _nodes(env)[standby_id][1]

    # The leader dies without a word: the standby must take over within 30 s.
    leader_proc = first if first.pid == leader_pid else second
    standby_proc = second if leader_proc is first else first
    died = time.monotonic()
    os.killpg(leader_proc.pid, signal.SIGKILL)
    leader_proc.wait()
    wait_for("the standby to take over", lambda: _leader(env) == standby_id, 30)
    takeover = time.monotonic() - died
    assert takeover < 30, takeover

    # SIGTERM: a clean stop that gives the lease back at once.
    standby_proc.send_signal(signal.SIGTERM)
    assert standby_proc.wait(timeout=20) == 0
    assert _leader(env) is None
    assert _nodes(env)[standby_id][2] is True  # stopped_at recorded
    log = standby_proc.stdout.read().decode() if standby_proc.stdout else ""
    assert "is now the leader" in log
    assert "stopped" in log


def test_engines_starting_at_once_upgrade_an_older_database_before_they_run(
    empty_db_env: dict[str, str], processes: list[subprocess.Popen[bytes]]
) -> None:
    """The suite's one run of every migration from (nearly) nothing, in real processes: the
    other process tests start from a copy of the migrated test database."""
    env = empty_db_env
    subprocess.run(
        [sys.executable, "-m", "careline.cli", "migrate", "core", "0001", "-v0"],
        env=env,
        check=True,
    )
    assert not _query(
        env,
        "SELECT name FROM django_migrations WHERE app = 'core' AND name = '0002_audit_append_only'",
    )
    # Both migrate at start-up, one waiting for the other's lock; neither may fail.
    first, second = _careline(env, "engine"), _careline(env, "engine")
    processes += [first, second]
    wait_for("two engines to register", lambda: len(_nodes(env)) == 2, 60)
    assert _query(
        env,
        "SELECT name FROM django_migrations WHERE app = 'core' AND name = '0002_audit_append_only'",
    )
    for engine in (first, second):
        engine.send_signal(signal.SIGTERM)
    assert [first.wait(timeout=20), second.wait(timeout=20)] == [0, 0]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  (our own localhost)
        return json.loads(response.read())


def test_careline_run_serves_and_stops_both_on_sigterm(
    scratch_db_env: dict[str, str], processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    env = {
        **scratch_db_env,
        "CARELINE_PORT": str(port),
        "CARELINE_WEB_WORKERS": "1",
        # Loading the embedding model for the demo's articles is the knowledge tests' business
        # and doubles this test's time.
        "CARELINE_KB_SEMANTIC": "off",
    }
    run = _careline(env, "run", "--demo")
    processes.append(run)

    def ready() -> Any:
        try:
            body = _get_json(f"http://127.0.0.1:{port}/readyz")
        except OSError:
            return None
        # The engine is running from its first heartbeat; it shows as the leader from the
        # heartbeat after it took the lease.
        return body if body["engine"]["running"] and body["engine"]["leader"] else None

    body = wait_for("web and engine to be up, the engine leading", ready, 60)
    assert body["status"] == "ok"
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    output = run.stdout.read().decode() if run.stdout else ""
    assert "Demo hospital loaded" in output
    assert "nurse.ed" in output
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        _get_json(f"http://127.0.0.1:{port}/healthz")
    # Nothing left behind: the engine recorded its stop.
    assert all(stopped for _, _, stopped in _nodes(env).values())


def test_the_engine_keeps_sqlite_statistics(db: None) -> None:
    """The upkeep loop is registered and its statement runs on this database."""
    assert "db-optimise" in [spec.name for spec in REGISTRY]
    optimise_database()  # PRAGMA optimize on SQLite, nothing on PostgreSQL; must not raise
