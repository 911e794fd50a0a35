"""An engine with CARELINE_MONITOR_PROCESSES above 1 runs checks in helper processes too
(they claim due monitors exactly as engines do, see test_scheduler), and the helpers stop
with their engine, also when it is killed outright."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from tests.monitoring.test_engine_process import _sql
from tests.processes import wait_for

pytestmark = pytest.mark.django_db

MONITORS = 40

MAKE_MONITORS = f"""
from careline.monitoring.services import monitors
for i in range({MONITORS}):
    monitors.create_monitor(None, {{"name": f"Switch {{i}}", "kind": "tcp", "interval_s": 10,
        "config": {{"host": "127.0.0.1", "port": 9}}}})
"""


def _helpers(engine_pid: int) -> list[int]:
    found = subprocess.run(
        ["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True, check=True
    ).stdout
    return [
        int(pid)
        for pid, ppid, args in (line.split(None, 2) for line in found.splitlines() if line.strip())
        if "monitor_checks" in args and (engine_pid == 0 or int(ppid) == engine_pid)
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


@pytest.fixture
def engine_env(scratch_db_env: dict[str, str]) -> dict[str, str]:
    env = {**scratch_db_env, "CARELINE_MONITOR_PROCESSES": "3", "CARELINE_KB_SEMANTIC": "off"}
    subprocess.run(
        [sys.executable, "-m", "careline.cli", "shell", "-c", MAKE_MONITORS],
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "careline.cli", "engine", "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _checked(env: dict[str, str]) -> Any:
    rows = _sql(env, "SELECT count(*) FROM monitoring_monitor WHERE last_checked_at IS NOT NULL")
    return rows[0][0] == MONITORS


def test_helpers_share_the_checks_and_stop_with_their_engine(engine_env: dict[str, str]) -> None:
    engine = _start(engine_env)
    try:
        helpers = wait_for("two helper processes", lambda: len(_helpers(engine.pid)) == 2, 60)
        assert helpers
        helper_pids = _helpers(engine.pid)
        wait_for("every monitor checked", lambda: _checked(engine_env), 60)
        engine.send_signal(signal.SIGTERM)
        assert engine.wait(timeout=30) == 0
        assert not [pid for pid in helper_pids if _alive(pid)]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(engine.pid, signal.SIGKILL)
        engine.wait()


def test_helpers_of_a_killed_engine_stop_by_themselves(engine_env: dict[str, str]) -> None:
    engine = _start(engine_env)
    try:
        wait_for("two helper processes", lambda: len(_helpers(engine.pid)) == 2, 60)
        helper_pids = _helpers(engine.pid)
        # SIGKILL to the engine alone, not its process group: it cannot stop its helpers.
        engine.kill()
        engine.wait()
        wait_for(
            "the orphaned helpers to stop", lambda: not [p for p in helper_pids if _alive(p)], 20
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(engine.pid, signal.SIGKILL)
