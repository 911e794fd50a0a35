"""API throughput and latency against a real `careline serve` (gunicorn), at concurrency 8.

Reads: GET /api/v1/departments (token auth, count + page). Writes: POST /api/v1/services
(validation, insert and its chained audit event in one transaction). On SQLite and, when
reachable, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import careline, percentiles, postgres_available, report, scratch_env, server

CONCURRENCY = 8
REQUESTS = 2000


async def _drive(base: str, token: str, make_request: Any) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(REQUESTS))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                started = time.perf_counter()
                response = await make_request(client, i)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return {
        "requests": float(len(latencies)),
        "errors": float(errors),
        "per_s": len(latencies) / elapsed,
        **percentiles(latencies),
    }


async def _read(client: httpx.AsyncClient, i: int) -> httpx.Response:
    return await client.get("/api/v1/departments", params={"limit": 50})


async def _write(client: httpx.AsyncClient, i: int) -> httpx.Response:
    return await client.post(
        "/api/v1/services", json={"code": f"SVC-{i}", "name": f"Service {i}", "tier": 1 + i % 3}
    )


def main() -> None:
    databases = ["sqlite"] + (["postgresql"] if postgres_available() else [])
    rows = []
    for database in databases:
        with scratch_env(database) as env:
            careline(env, "demo")
            token = careline(env, "token", "create", "--user", "admin").strip()
            with server(env) as base:
                for name, request in (
                    ("GET /api/v1/departments", _read),
                    ("POST /api/v1/services", _write),
                ):
                    result = asyncio.run(_drive(base, token, request))
                    rows.append(
                        {
                            "database": database,
                            "request": name,
                            "concurrency": CONCURRENCY,
                            **result,
                        }
                    )
    report(
        "api",
        rows,
        [
            "database",
            "request",
            "concurrency",
            "requests",
            "errors",
            "per_s",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
        ],
    )


if __name__ == "__main__":
    main()
