"""Monitoring engine speed: N monitors (HTTP and TCP, half each) against local servers, run
by the engine's scheduler, on SQLite and PostgreSQL (issue: Monitoring engine, Speed).

Floors: 10,000 monitors at a 30 s interval keep up (scheduling lag p99 under 1 s), at least
1,000 checks/s sustained, under 300 MB RSS; a target stopped at time T opens its incident by
T + interval x retries + 2 s (p99 over 20 trials). By default two runs per database: the
30 s load with the 20 detection trials among it, on one process, then the same monitors
every 10 s, which asks for 1,000 checks/s, on three (CARELINE_MONITOR_PROCESSES=3: the
scheduler here and two helper processes, as `careline engine` starts them).

The targets run in a process of their own; the scheduler runs in this one (as in
`careline engine`), with its real database writes.

    .venv/bin/python bench/bench_monitoring.py
    CARELINE_BENCH_MONITORS=10000 CARELINE_BENCH_INTERVAL=30 CARELINE_BENCH_SECONDS=120 \\
    CARELINE_BENCH_TRIALS=20 .venv/bin/python bench/bench_monitoring.py
    CARELINE_BENCH_KINDS=tcp ...   (tcp, http or mixed, the default: half each)
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import report, rows_per_database

MONITORS = int(os.environ.get("CARELINE_BENCH_MONITORS", "10000"))
INTERVAL = int(os.environ.get("CARELINE_BENCH_INTERVAL", "30"))
SECONDS = float(os.environ.get("CARELINE_BENCH_SECONDS", "120"))
TRIALS = int(os.environ.get("CARELINE_BENCH_TRIALS", "20"))
DETECT_INTERVAL = int(os.environ.get("CARELINE_BENCH_DETECT_INTERVAL", "5"))
DETECT_RETRIES = 2
TRIAL_SPACING_S = 2.0
# "mixed": half HTTP, half TCP; "tcp" or "http": one kind only.
KINDS = os.environ.get("CARELINE_BENCH_KINDS", "mixed")
PROFILE = os.environ.get("CARELINE_BENCH_PROFILE", "custom")
# Run by default: the load (10,000 monitors every 30 s: keeping up, memory and the
# detection trials), then the same monitors every 10 s (the sustained 1,000 checks/s).
PROFILES = [
    {"CARELINE_BENCH_PROFILE": "keep-up", "CARELINE_BENCH_INTERVAL": "30"},
    {
        "CARELINE_BENCH_PROFILE": "1,000 checks/s",
        "CARELINE_BENCH_INTERVAL": "10",
        "CARELINE_BENCH_TRIALS": "0",
        "CARELINE_MONITOR_PROCESSES": "3",
    },
]


# --- the targets' process ------------------------------------------------------------------


async def _serve_targets(port_file: str) -> None:
    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    http_server = await asyncio.start_server(http, "127.0.0.1", 0, backlog=4096)
    tcp_server = await asyncio.start_server(tcp, "127.0.0.1", 0, backlog=4096)
    ports = [http_server.sockets[0].getsockname()[1], tcp_server.sockets[0].getsockname()[1]]
    Path(port_file).write_text(json.dumps(ports))
    await asyncio.Event().wait()


# --- the engine's side ---------------------------------------------------------------------


def _seed(http_port: int, tcp_port: int) -> None:
    from django.utils import timezone

    from careline.monitoring.models import Monitor

    now = timezone.now()
    rows = []
    for i in range(MONITORS):
        if KINDS == "http" or (KINDS == "mixed" and i % 2):
            kind, config = "http", {"url": f"http://127.0.0.1:{http_port}/health"}
        else:
            kind, config = "tcp", {"host": "127.0.0.1", "port": tcp_port}
        rows.append(
            Monitor(
                name=f"Bench {kind} {i}",
                kind=kind,
                config=config,
                interval_s=INTERVAL,
                timeout_s=5,
                retries=2,
                status="unknown",
                next_due_at=now + timedelta(seconds=random.uniform(0, INTERVAL)),
                created_at=now,
                updated_at=now,
            )
        )
    Monitor.objects.bulk_create(rows, batch_size=2000)


async def _detect(trial: int, start_after: float) -> float:
    """Start a target, let its monitor see it up, stop it at T: seconds until the incident."""
    await asyncio.sleep(start_after)
    from careline.engine.runner import db
    from careline.monitoring.models import Monitor, MonitorIncident
    from careline.monitoring.services import monitors

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    target = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = target.sockets[0].getsockname()[1]

    def create() -> int:
        monitor = monitors.create_monitor(
            None,
            {
                "name": f"Detection trial {trial}",
                "kind": "tcp",
                "config": {"host": "127.0.0.1", "port": port},
                "retries": DETECT_RETRIES,
                "interval_s": 10,
                "timeout_s": 2,
                "service": "EHR",
                "impact": {"care_effect": "blocked", "scope": "site"},
            },
        )
        from django.utils import timezone

        Monitor.objects.filter(pk=monitor.pk).update(
            interval_s=DETECT_INTERVAL, next_due_at=timezone.now()
        )
        return monitor.pk

    monitor_id = await db(create)
    while await db(lambda: Monitor.objects.get(pk=monitor_id).status) != "up":
        await asyncio.sleep(0.2)
    # Stop at a random point of the interval, as a real failure would.
    await asyncio.sleep(random.uniform(0, DETECT_INTERVAL))
    target.close()
    await target.wait_closed()
    stopped = time.monotonic()
    while not await db(lambda: MonitorIncident.objects.filter(monitor_id=monitor_id).exists()):
        await asyncio.sleep(0.1)
    found = time.monotonic() - stopped
    await db(lambda: Monitor.objects.filter(pk=monitor_id).update(paused=True))
    return found


def _checks_recorded() -> int:
    from careline.monitoring.models import CheckRecord

    return CheckRecord.objects.count()


async def _engine(database: str) -> dict[str, Any]:
    from django.conf import settings

    from careline.engine.runner import db
    from careline.monitoring import scheduler as monitor_scheduler
    from careline.monitoring.scheduler import Scheduler

    # As `careline engine` does: this process checks, and so do its helpers, if any.
    helpers = await monitor_scheduler.start_helpers(settings.MONITOR_PROCESSES - 1)
    scheduler = Scheduler(owner="bench")
    task = asyncio.create_task(scheduler.run())
    warmup = min(INTERVAL, SECONDS / 3)
    await asyncio.sleep(warmup)
    scheduler.lags.clear()
    done_before = await db(_checks_recorded)
    started = time.monotonic()
    # The trials overlap, started two seconds apart, so all of them fit in the measured
    # time while the full load runs.
    detections = list(
        await asyncio.gather(*(_detect(t, t * TRIAL_SPACING_S) for t in range(TRIALS)))
    )
    remaining = SECONDS - (time.monotonic() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    elapsed = time.monotonic() - started
    # Every process's checks, as written (in batches every half second).
    checks = await db(_checks_recorded) - done_before
    # This process's share of the lags (the helpers' are alike: they claim the same way).
    lags = sorted(scheduler.lags)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await monitor_scheduler.stop_helpers(helpers)
    p = statistics.quantiles(lags, n=100) if len(lags) > 2 else [0.0] * 99
    detect_p = (
        statistics.quantiles(detections, n=100, method="inclusive")[98]
        if len(detections) > 1
        else (detections[0] if detections else None)
    )
    return {
        "profile": PROFILE,
        "database": database,
        "monitors": MONITORS,
        "kinds": KINDS,
        "interval_s": INTERVAL,
        "processes": settings.MONITOR_PROCESSES,
        "checks": checks,
        "checks_per_s": checks / elapsed,
        "expected_per_s": MONITORS / INTERVAL,
        "lag_p50_s": p[49],
        "lag_p99_s": p[98],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trials": len(detections),
        "detect_p99_s": detect_p,
        "detect_bound_s": DETECT_INTERVAL * DETECT_RETRIES + 2,
    }


def _run(database: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
    django.setup()
    port_file = Path(os.environ["CARELINE_DATA_DIR"]) / "ports.json"
    targets = subprocess.Popen([sys.executable, __file__, "--targets", str(port_file)])
    try:
        while not port_file.exists():
            time.sleep(0.05)
        http_port, tcp_port = json.loads(port_file.read_text())
        _seed(http_port, tcp_port)
        print("ROW " + json.dumps(asyncio.run(_engine(database))))
    finally:
        targets.terminate()
        targets.wait()


COLUMNS = [
    "profile",
    "database",
    "monitors",
    "kinds",
    "interval_s",
    "processes",
    "checks",
    "checks_per_s",
    "expected_per_s",
    "lag_p50_s",
    "lag_p99_s",
    "rss_mb",
    "trials",
    "detect_p99_s",
    "detect_bound_s",
]


def main() -> None:
    # A load given in the environment is run alone; otherwise both profiles.
    profiles = [{}] if "CARELINE_BENCH_INTERVAL" in os.environ else PROFILES
    rows = []
    for profile in profiles:
        os.environ.update(profile)
        rows += rows_per_database(__file__, ["demo"])
    report("monitoring", rows, COLUMNS)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--targets"]:
        asyncio.run(_serve_targets(sys.argv[2]))
    elif sys.argv[1:2] == ["--run"]:
        _run(sys.argv[2])
    else:
        main()
