"""Service-desk speed with 100,000 tickets, on SQLite and PostgreSQL (issue: Service desk, Speed).

Floors: create through the API at concurrency 8 >= 500 tickets/s with p99 < 50 ms; the agent
queue (first page, filtered) and search at concurrency 8 with p99 < 50 ms. Load comes from
wrk (Debian's package) so the load generator does not eat the server's CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (
    ROOT,
    WRK_COLUMNS,
    careline,
    postgres_available,
    report,
    run_cases,
    scratch_env,
    server,
)

TICKETS = int(os.environ.get("CARELINE_BENCH_TICKETS", "100000"))

CREATE_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"kind":"incident","title":"Bench scanner problem %%d","description":"Bay %%d",'
    .. '"department":"NG-ED","care_effect":"degraded","scope":"person","service":"BCMA"}', n, n %% 20)
  return wrk.format(nil, "/api/v1/tickets", nil, body)
end
"""

GET_LUA = """
wrk.headers["Authorization"] = "Bearer %(token)s"
"""


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench` installs Debian's wrk package")
    rows = []
    for database in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        with scratch_env(database) as env:
            careline(env, "demo")
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "seed_tickets.py"), str(TICKETS)],
                env=env,
                check=True,
            )
            nurse = careline(env, "token", "create", "--user", "nurse.ed").strip()
            agent = careline(env, "token", "create", "--user", "agent").strip()
            with server(env) as base:
                cases = [
                    ("POST /api/v1/tickets (create)", "/", CREATE_LUA % {"token": nurse}),
                    (
                        "GET queue: open, P1-P3, site, first page",
                        "/api/v1/tickets?open=true&priority=P1&priority=P2&priority=P3&site=NORTH&limit=50",
                        GET_LUA % {"token": agent},
                    ),
                    (
                        "GET queue: department, first page",
                        "/api/v1/tickets?department=NG-ICU&open=true&limit=50",
                        GET_LUA % {"token": agent},
                    ),
                    (
                        "GET search q=wristband scanner",
                        "/api/v1/tickets?q=wristband%20scanner&limit=50",
                        GET_LUA % {"token": agent},
                    ),
                ]
                rows += run_cases(base, cases, database=database, tickets=TICKETS)
    report("tickets", rows, ["database", "tickets", "request", *WRK_COLUMNS])


if __name__ == "__main__":
    main()
