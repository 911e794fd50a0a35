"""API throughput and latency against a real `careline serve` (Granian), at concurrency 8.

Reads: GET /api/v1/departments (token auth, count and page). Writes: POST /api/v1/services
(validation, insert and its chained audit event in one transaction). On SQLite and, when
reachable, on PostgreSQL. Load from wrk (bench/common.py).
"""

from __future__ import annotations

import sys
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

READ_LUA = """
wrk.headers["Authorization"] = "Bearer %(token)s"
"""

WRITE_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
-- Each wrk thread counts on its own, so its id goes into the code: codes never repeat.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  local tid = wrk.thread:get("tid")
  local body = string.format('{"code":"SVC-%%d-%%d","name":"Service %%d","tier":%%d}', tid, n, n, 1 + n %% 3)
  return wrk.format(nil, "/api/v1/services", nil, body)
end
"""


def main() -> None:
    rows = []
    for database in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        with scratch_env(database) as env:
            careline(env, "demo")
            token = careline(env, "token", "create", "--user", "admin").strip()
            with server(env) as base:
                rows += run_cases(
                    base,
                    [
                        (
                            "GET /api/v1/departments",
                            "/api/v1/departments?limit=50",
                            READ_LUA % {"token": token},
                        ),
                        ("POST /api/v1/services", "/", WRITE_LUA % {"token": token}),
                    ],
                    database=database,
                )
    report("api", rows, ["database", "request", *WRK_COLUMNS])


if __name__ == "__main__":
    main()
