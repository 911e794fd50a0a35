"""Shared pieces of CareLine's benchmarks: scratch databases, a real server, load from wrk
(Debian's package, so the load generator does not eat the server's CPU), result tables."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")

# What `server` started, by its base URL: how `run_cases` finds whose CPU to count.
_SERVED: dict[str, tuple[int, str | None]] = {}


def postgres_available() -> bool:
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@contextlib.contextmanager
def scratch_env(database: str) -> Iterator[dict[str, str]]:
    """Environment for a `careline` process with an empty database of the given kind."""
    with tempfile.TemporaryDirectory(prefix="careline-bench-") as data_dir:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["CARELINE_DATA_DIR"] = data_dir
        env["CARELINE_LOG_LEVEL"] = "WARNING"
        if database == "sqlite":
            yield env
            return
        name = f"careline_bench_{os.getpid()}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        try:
            yield env
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def careline(env: dict[str, str], *args: str, stdin: str = "") -> str:
    return subprocess.run(
        [sys.executable, "-m", "careline.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def rows_per_database(
    script: str, prepare: list[str], seeds: list[list[str]] | None = None
) -> list[dict[str, Any]]:
    """Run `script --run DATABASE` on a scratch SQLite database, then PostgreSQL if it is
    reachable, each first made ready with `careline PREPARE...` and then each seeding
    command of `seeds` (argument lists, run with the scratch database's environment); the
    rows the script printed as `ROW {json}` lines."""
    rows: list[dict[str, Any]] = []
    for database in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        with scratch_env(database) as env:
            careline(env, *prepare)
            for seed in seeds or []:
                subprocess.run(seed, env=env, check=True)
            out = subprocess.run(
                [sys.executable, script, "--run", database],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                check=True,
            ).stdout
            rows += [json.loads(line[4:]) for line in out.splitlines() if line.startswith("ROW ")]
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(
    env: dict[str, str], workers: int | None = None, threads: int | None = None
) -> Iterator[str]:
    """A real `careline serve`, as shipped unless workers or threads are given."""
    port = free_port()
    sizing = [*(["--workers", str(workers)] if workers else [])]
    sizing += ["--threads", str(threads)] if threads else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "careline.cli", "serve", "--port", str(port), *sizing],
        env={**env, "CARELINE_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310  (localhost)
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        _SERVED[base] = (proc.pid, env.get("DATABASE_URL"))
        yield base
    finally:
        _SERVED.pop(base, None)
        proc.terminate()
        proc.wait(timeout=30)


class CpuMeter:
    """CPU seconds spent so far by a server (its process and its worker processes) and, on
    PostgreSQL, by the backends serving its database; SQLite's work is the server's own.

    A process that exits between two readings takes its CPU with it; the server's workers and
    (with persistent connections) the backends live through a case.
    """

    def __init__(self, server_pid: int, database_url: str | None) -> None:
        self.server = psutil.Process(server_pid)
        self.database_url = database_url

    def read(self) -> dict[str, float]:
        app = _cpu_seconds([self.server, *self.server.children(recursive=True)])
        db = 0.0
        if self.database_url is not None:
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                pids = [
                    row[0]
                    for row in conn.execute(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ]
            db = _cpu_seconds(_processes(pids))
        return {"app": app, "db": db}


def _processes(pids: list[int]) -> list[psutil.Process]:
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.append(psutil.Process(pid))
    return found


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def report(name: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print a table and write bench/results/<name>.json."""
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps({"benchmark": name, "cores": os.cpu_count(), "rows": rows}, indent=2))
    print(f"\nwritten {out.relative_to(ROOT)}")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    return "" if value is None else str(value)


CONCURRENCY = 8
DURATION = os.environ.get("CARELINE_BENCH_DURATION", "10s")

DONE_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %d, \\"errors\\": %d, \\"non2xx\\": %d, \\"seconds\\": %f, "
    .. "\\"p50_ms\\": %f, \\"p90_ms\\": %f, \\"p99_ms\\": %f, \\"max_ms\\": %f}\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


# Each case first runs this long unmeasured, so the figures are of a server in its steady
# state (workers' first requests import modules, fill caches and prepare statements).
WARMUP = os.environ.get("CARELINE_BENCH_WARMUP", "3s")


def wrk(base: str, path: str, script: str, duration: str = DURATION) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + DONE_LUA)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{CONCURRENCY}",
                f"-d{duration}",
                "--timeout",
                "10s",
                "-s",
                handle.name,
                base + path,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    data = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))  # type: ignore[union-attr]
    data["per_s"] = data["requests"] / data["seconds"]
    return data


WRK_COLUMNS = [
    "concurrency",
    "requests",
    "non2xx",
    "per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "app_cpu_ms",
    "db_cpu_ms",
    "cpu_bound_per_s",
]


def run_cases(base: str, cases: list[tuple[str, str, str]], **labels: Any) -> list[dict[str, Any]]:
    """Drive each (name, path, wrk script) case against the server, after a warm-up of the
    same requests; one result row each.

    Each row also says what one request cost in CPU: `app_cpu_ms` in the server's processes,
    `db_cpu_ms` in PostgreSQL's backends (on SQLite the database works inside the server), and
    `cpu_bound_per_s`, the rate this machine's cores could serve if nothing else ran: the
    ceiling no tuning of concurrency or waiting can lift.
    """
    served = _SERVED.get(base)
    meter = CpuMeter(*served) if served is not None else None
    rows = []
    for name, path, script in cases:
        if WARMUP not in ("", "0", "0s"):
            wrk(base, path, script, WARMUP)
        before = meter.read() if meter else None
        result = wrk(base, path, script)
        row = {**labels, "request": name, "concurrency": CONCURRENCY, **result}
        if meter is not None and before is not None and result["requests"]:
            after = meter.read()
            app_ms = (after["app"] - before["app"]) * 1000 / result["requests"]
            db_ms = (after["db"] - before["db"]) * 1000 / result["requests"]
            row.update(app_cpu_ms=app_ms, db_cpu_ms=db_ms)
            if app_ms + db_ms > 0:
                row["cpu_bound_per_s"] = (os.cpu_count() or 1) * 1000 / (app_ms + db_ms)
        rows.append(row)
    return rows


def measure(call: Callable[[], Any], runs: int, target_ms: float) -> dict[str, Any]:
    """Time an in-process call: once to warm up (imports, templates, prepared statements),
    once to count its SQL queries, then `runs` times. Counted by a wrapper, not
    connection.queries, which each request empties."""
    from django.db import connection

    call()
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "queries": len(queries),
        "runs": runs,
        "p50_ms": statistics.median(times),
        "max_ms": times[-1],
        "target_ms": target_ms,
        "ok": "yes" if times[-1] < target_ms else "NO",
    }
