"""Real `careline engine` processes for the delivery fault tests, on databases of their own
made in seconds: copies of this test run's already-migrated database (tests/processes.py's
`database_copy` from the `migrated_template` fixture; migrating afresh takes longer than
everything the tests then do), and for a private PostgreSQL cluster a pg_dump of it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection

from tests.processes import admin_dsn, database_copy

# Short claims, backoff and polling, so a crash and a restart play out in seconds.
FAST = {
    "CARELINE_OUTBOX_POLL_MS": "50",
    "CARELINE_OUTBOX_SEND_TIMEOUT_S": "1",
    "CARELINE_OUTBOX_CLAIM_SECONDS": "2",
    "CARELINE_OUTBOX_BACKOFF_BASE_MS": "100",
    "CARELINE_OUTBOX_PER_RECEIVER": "4",
    "CARELINE_ENGINE_LEASE_SECONDS": "3",
    "CARELINE_ENGINE_TICK_SECONDS": "1",
    "CARELINE_LOG_LEVEL": "WARNING",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def base_env(data_dir: Path) -> dict[str, str]:
    """Environment for `careline` processes: this one's, with short delivery timings, a data
    directory of their own and this process's encryption keys (so a target encrypted here
    can be read there)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(FAST)
    env["CARELINE_DATA_DIR"] = str(data_dir)
    env["CARELINE_ENCRYPTION_KEYS"] = ",".join(settings.ENCRYPTION_KEYS)
    return env


@contextlib.contextmanager
def engine_env(template: str, data_dir: Path, label: str) -> Iterator[dict[str, str]]:
    """base_env() with a migrated database of their own (a copy of `template`), of this test
    run's kind."""
    env = base_env(data_dir)
    with database_copy(template, data_dir, label) as copied:
        if "DATABASE_URL" in copied:
            env["DATABASE_URL"] = copied["DATABASE_URL"]
        yield env


def sql(env: dict[str, str], statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read or change the subprocesses' database directly, as an operator's psql would."""
    if "DATABASE_URL" in env:
        with psycopg.connect(env["DATABASE_URL"], autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(statement.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []
    path = Path(env["CARELINE_DATA_DIR"]) / "careline.sqlite3"
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
        rows = list(conn.execute(statement, params).fetchall())
        conn.commit()
        return rows


def stamp(env: dict[str, str], at: datetime) -> Any:
    """A datetime as the database stores it (SQLite: naive UTC text, as Django writes it)."""
    if "DATABASE_URL" in env:
        return at
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


@dataclass
class Running:
    """A `careline` process and the file its log goes to (a pipe nobody reads would fill,
    and stop it)."""

    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)


def careline(env: dict[str, str], *args: str) -> Running:
    log = Path(env["CARELINE_DATA_DIR"]) / f"careline-{time.monotonic_ns()}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "careline.cli", *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Running(process, log)


def until(what: str, condition: Callable[[], Any], timeout: float, every: float = 0.02) -> Any:
    """Poll `condition` until it is truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's server programs, if any."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


class PrivateCluster:
    """A PostgreSQL server of the test's own, in a temporary directory on a free port, so it
    may be restarted without touching the machine's shared one. initdb refuses to run as
    root: as root, the server's programs run as the `postgres` user, in a directory it owns."""

    def __init__(self, bin_dir: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="careline-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> PrivateCluster:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N"
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        return self

    def restart(self) -> None:
        # "fast": connections are cut at once, as in a real failover or an operator's restart.
        # -l again: without it the new server would write to (and hold open) our pipe.
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-l", log, "-w", "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def load_from_test_database(self, dbname: str) -> None:
        """A database here holding the test run's migrated schema (pg_dump | psql)."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{dbname}"')
        source = admin_dsn(str(connection.settings_dict["NAME"]))
        dump = subprocess.run(
            [
                str(self.bin_dir / "pg_dump"),
                f"--host={source['host']}",
                f"--port={source['port']}",
                f"--username={source['user']}",
                "--no-owner",
                "--no-privileges",
                source["dbname"],
            ],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        subprocess.run(
            [str(self.bin_dir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(dbname)],
            input=dump,
            check=True,
            capture_output=True,
            timeout=60,
        )
