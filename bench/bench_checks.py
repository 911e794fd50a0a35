"""Check throughput and cost: concurrent http and tcp checks against local servers.

The monitoring engine's floor is 1,000 checks/s sustained on 2 cores (10,000 monitors at a
30 s interval need 333/s; the floor leaves room). This drives `run_check` directly, N checks
with a bounded concurrency, and reports checks/s, latency percentiles and the CPU time each
check costs the checking process (the figure that decides how many checks a core can do).

The targets run in a separate process: a small asyncio HTTP/1.1 server (keep-alive, a fixed
"ok" answer) and a TCP port that accepts and closes, so their CPU is not counted as the
checks'. Cases:

- tcp: connect and close;
- http: GET of a URL with a keyword assertion (every check opens its own connection);
- http, server closes: the same with `Connection: close` sent and honoured by the server;
- sustained: half tcp, half http checks started at a fixed rate (default 1,000/s for 10 s),
  as the engine starts due checks; reports how late checks started (start lag) and whether
  the completed rate kept up with the offered one.

    .venv/bin/python bench/bench_checks.py            # 20,000 checks per case, concurrency 200
    CARELINE_BENCH_CHECKS=3000 CARELINE_BENCH_CHECK_SECONDS=5 .venv/bin/python bench/bench_checks.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")

import django

django.setup()

from bench.common import free_port, report  # noqa: E402
from careline.monitoring import checks  # noqa: E402
from careline.monitoring.configs import parse_config  # noqa: E402

CHECKS = int(os.environ.get("CARELINE_BENCH_CHECKS", "20000"))
RATE = int(os.environ.get("CARELINE_BENCH_CHECK_RATE", "1000"))
SECONDS = int(os.environ.get("CARELINE_BENCH_CHECK_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("CARELINE_BENCH_CHECK_CONCURRENCY", "200"))
TIMEOUT_S = 10.0

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
ANSWER_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)


# --------------------------------------------------------------------------- target process


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            closing = b"connection: close" in head.lower()
            writer.write(ANSWER_CLOSE if closing else ANSWER)
            await writer.drain()
            if closing:
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _serve(http_port: int, tcp_port: int) -> None:
    http = await asyncio.start_server(_http, "127.0.0.1", http_port, backlog=4096)
    tcp = await asyncio.start_server(_tcp, "127.0.0.1", tcp_port, backlog=4096)
    print("ready", flush=True)
    async with http, tcp:
        await asyncio.gather(http.serve_forever(), tcp.serve_forever())


# --------------------------------------------------------------------------- checking process


async def _drive(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    config = parse_config(kind, raw)
    gate = asyncio.Semaphore(CONCURRENCY)
    latencies: list[float] = []
    failures: list[str] = []

    async def one() -> None:
        async with gate:
            result = await checks.run_check(kind, config, TIMEOUT_S)
        latencies.append(result.latency_ms)
        if result.status != "up":
            failures.append(result.error)

    # Warm up: connection pools, TLS-free client set-up, first-call imports.
    await asyncio.gather(*(one() for _ in range(min(CONCURRENCY, 200))))
    latencies.clear()
    failures.clear()
    cpu = time.process_time()
    wall = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CHECKS)))
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    await checks.close()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "checks": CHECKS,
        "concurrency": CONCURRENCY,
        "failed": len(failures),
        "per_s": CHECKS / wall,
        "cpu_ms_per_check": cpu * 1000 / CHECKS,
        "checks_per_cpu_s": CHECKS / cpu if cpu else None,
        "p50_ms": cuts[49],
        "p90_ms": cuts[89],
        "p99_ms": cuts[98],
        "max_ms": max(latencies),
        "first_error": failures[0] if failures else "",
    }


async def _sustain(tcp_raw: dict[str, Any], http_raw: dict[str, Any]) -> dict[str, Any]:
    """Start RATE checks a second for SECONDS, alternating tcp and http, at most CONCURRENCY at
    once as the engine bounds them: does one process keep up with the offered rate?"""
    loop = asyncio.get_running_loop()
    kinds = [("tcp", parse_config("tcp", tcp_raw)), ("http", parse_config("http", http_raw))]
    total = RATE * SECONDS
    lags: list[float] = []
    latencies: list[float] = []
    failures: list[str] = []
    tasks: set[asyncio.Task[None]] = set()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(kind: str, config: Any) -> None:
        async with gate:
            result = await checks.run_check(kind, config, TIMEOUT_S)
        latencies.append(result.latency_ms)
        if result.status != "up":
            failures.append(result.error)

    cpu = time.process_time()
    start = loop.time()
    for i in range(total):
        due = start + i / RATE
        delay = due - loop.time()
        if delay > 0.001:
            await asyncio.sleep(delay)
        await gate.acquire()  # a check starts when a slot is free, as in the engine
        gate.release()
        lags.append((loop.time() - due) * 1000)
        kind, config = kinds[i % 2]
        task = asyncio.create_task(one(kind, config))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    wall = loop.time() - start
    cpu = time.process_time() - cpu
    await checks.close()
    lag_cuts = statistics.quantiles(lags, n=100)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "case": f"sustained {RATE}/s, tcp+http",
        "checks": total,
        "concurrency": CONCURRENCY,
        "failed": len(failures),
        "per_s": total / wall,
        "cpu_ms_per_check": cpu * 1000 / total,
        "checks_per_cpu_s": total / cpu if cpu else None,
        "p50_ms": cuts[49],
        "p90_ms": cuts[89],
        "p99_ms": cuts[98],
        "max_ms": max(latencies),
        "start_lag_p50_ms": lag_cuts[49],
        "start_lag_p99_ms": lag_cuts[98],
        "first_error": failures[0] if failures else "",
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        asyncio.run(_serve(int(sys.argv[2]), int(sys.argv[3])))
        return
    http_port, tcp_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(http_port), str(tcp_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # "ready"
        url = f"http://127.0.0.1:{http_port}/health"
        cases = [
            ("tcp", "tcp", {"host": "127.0.0.1", "port": tcp_port}),
            ("http", "http", {"url": url, "keyword": "ok"}),
            (
                "http, server closes",
                "http",
                {"url": url, "keyword": "ok", "headers": {"Connection": "close"}},
            ),
        ]
        rows = [{"case": name, **asyncio.run(_drive(kind, raw))} for name, kind, raw in cases]
        rows.append(asyncio.run(_sustain(cases[0][2], cases[1][2])))
    finally:
        server.terminate()
        server.wait(timeout=10)
    report(
        "checks",
        rows,
        [
            "case",
            "checks",
            "concurrency",
            "failed",
            "per_s",
            "cpu_ms_per_check",
            "checks_per_cpu_s",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "start_lag_p50_ms",
            "start_lag_p99_ms",
            "first_error",
        ],
    )


if __name__ == "__main__":
    main()
