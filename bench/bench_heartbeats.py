"""Heartbeat intake speed against a real `careline serve`, on SQLite and PostgreSQL
(issue: Monitoring engine, Speed).

Floor: at least 2,000 pings/s with p99 under 50 ms; an unknown id is a 404 in under 10 ms.
Load comes from wrk; each request pings one of CARELINE_BENCH_HEARTBEATS heartbeats,
chosen at random, carrying a value.

    .venv/bin/python bench/bench_heartbeats.py
    CARELINE_BENCH_HEARTBEATS=1000 CARELINE_BENCH_DURATION=10s .venv/bin/python bench/bench_heartbeats.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    WRK_COLUMNS,
    careline,
    postgres_available,
    report,
    run_cases,
    scratch_env,
    server,
)

HEARTBEATS = int(os.environ.get("CARELINE_BENCH_HEARTBEATS", "1000"))

PING_LUA = """
local tokens = {}
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
request = function()
  local token = tokens[math.random(#tokens)]
  return wrk.format("GET", "/hb/" .. token .. "?value=" .. math.random(100))
end
"""

UNKNOWN_LUA = """
request = function()
  return wrk.format("GET", "/hb/00000000-0000-4000-8000-000000000000")
end
"""

SEED = """
import django, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
django.setup()
from careline.monitoring.services import monitors
out = open(sys.argv[2], "w")
for i in range(int(sys.argv[1])):
    m = monitors.create_monitor(None, {"name": f"Bench job {i}", "kind": "heartbeat",
        "config": {"period_s": 3600, "grace_s": 600}})
    out.write(f"{m.ping_token}\\n")
"""


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench` installs Debian's wrk package")
    rows = []
    for database in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        with scratch_env(database) as env, tempfile.TemporaryDirectory() as scratch:
            careline(env, "migrate")
            tokens = Path(scratch) / "tokens.txt"
            subprocess.run(
                [sys.executable, "-c", SEED, str(HEARTBEATS), str(tokens)], env=env, check=True
            )
            with server(env) as base:
                cases = [
                    ("GET /hb/<id>?value=N (ping)", "/", PING_LUA % {"tokens": tokens}),
                    ("GET /hb/<unknown id> (404)", "/", UNKNOWN_LUA),
                ]
                rows += run_cases(base, cases, database=database, heartbeats=HEARTBEATS)
    report("heartbeats", rows, ["database", "heartbeats", "request", *WRK_COLUMNS])


if __name__ == "__main__":
    main()
