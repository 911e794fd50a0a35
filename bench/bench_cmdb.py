"""CMDB speed with 50,000 items and about 200,000 relationships, on SQLite and PostgreSQL
(issue: CMDB and clinical impact, Speed).

Floors: a 50,000-row CSV import (`careline cmdb import`, which here also carries the
relationships and service memberships) under 60 s; the impact of any item p99 under 50 ms.

The seeded hospital is layered as real ones are: core switches, access switches, hypervisors,
VMs, databases, applications, interfaces, and a long tail of workstations, printers, scanners
and medical devices. Impact is timed in-process (`item_impact`, what the API, the service
desk and monitoring call) over random items; the rare worst case, a core switch that every
layer above depends on, is reported separately.

Scale with CARELINE_BENCH_CMDB_ITEMS (default 50000; relationships follow at about 4 per item).
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import careline, postgres_available, report, scratch_env

ITEMS = int(os.environ.get("CARELINE_BENCH_CMDB_ITEMS", "50000"))
SAMPLES = int(os.environ.get("CARELINE_BENCH_CMDB_SAMPLES", "1000"))
SERVICES = ["EHR", "PACS", "LIS", "PHARM", "NURSECALL", "BCMA", "VDI", "WIFI", "DICTATION", "EMAIL"]
HEADER = [
    "name",
    "item_type",
    "status",
    "hostname",
    "runs_on",
    "depends_on",
    "connects_to",
    "services",
]
ENDPOINT_TYPES = ["workstation", "printer", "peripheral", "medical_device"]


def write_csv(path: Path, items: int, seed: int = 7) -> int:
    """The seeded CMDB as one import file; returns the number of relationships in it."""
    rng = random.Random(seed)
    share = items / 50_000
    layers = {
        "core": max(2, int(20 * share)),
        "access": max(2, int(480 * share)),
        "host": max(2, int(1_000 * share)),
        "vm": max(2, int(8_000 * share)),
        "db": max(2, int(2_000 * share)),
        "app": max(2, int(3_000 * share)),
        "iface": max(2, int(500 * share)),
    }
    layers["end"] = items - sum(layers.values())
    names = {layer: [f"{layer.upper()}-{i:05d}" for i in range(n)] for layer, n in layers.items()}
    relationships = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)

        def row(
            name: str, kind: str, runs: list[str], deps: list[str], conn: list[str], svc: str = ""
        ) -> None:
            nonlocal relationships
            relationships += len(runs) + len(deps) + len(conn)
            out.writerow(
                [
                    name,
                    kind,
                    "live",
                    name.lower(),
                    "|".join(runs),
                    "|".join(deps),
                    "|".join(conn),
                    svc,
                ]
            )

        for name in names["core"]:
            row(name, "network_device", [], [], [])
        for name in names["access"]:
            row(name, "network_device", [], [], rng.sample(names["core"], 2))
        for name in names["host"]:
            row(name, "server", [], [], rng.sample(names["access"], 2))
        for name in names["vm"]:
            row(name, "virtual_machine", [rng.choice(names["host"])], [], [])
        for name in names["db"]:
            row(name, "database", rng.sample(names["vm"], 2), [], [])
        for name in names["app"]:
            row(
                name,
                "application",
                rng.sample(names["vm"], 2),
                rng.sample(names["db"], 2),
                [],
                rng.choice(SERVICES),
            )
        for name in names["iface"]:
            row(name, "interface", [], [], rng.sample(names["app"], 2))
        for name in names["end"]:
            deps = rng.sample(names["app"], rng.choice((3, 4, 4, 5)))
            row(name, rng.choice(ENDPOINT_TYPES), [], deps, [rng.choice(names["access"])])
    return relationships


TIMER = """
import json, random, sys, time
import django
django.setup()
from django.db import connection
from careline.cmdb.impact import item_impact
from careline.cmdb.models import ConfigItem, Relationship

with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
ids = list(ConfigItem.objects.values_list("pk", flat=True))
infra = list(ConfigItem.objects.exclude(item_type__in=["workstation", "printer", "peripheral", "medical_device"]).values_list("pk", flat=True))
core = list(ConfigItem.objects.filter(name__startswith="CORE-").values_list("pk", flat=True))
rng = random.Random(11)
samples = int(sys.argv[1])

def timed(pool, n):
    times, affected = [], []
    for item_id in [rng.choice(pool) for _ in range(n)]:
        start = time.perf_counter()
        impact = item_impact(item_id)
        times.append((time.perf_counter() - start) * 1000)
        affected.append(impact.item_count)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    return {"samples": n, "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": times[-1],
            "mean_affected": sum(affected) / len(affected), "max_affected": max(affected)}

for item_id in ids[:50]:
    item_impact(item_id)  # warm the connection and caches
print("JSON " + json.dumps({
    "items": len(ids), "relationships": Relationship.objects.count(),
    "any item": timed(ids, samples),
    "infrastructure only": timed(infra, samples),
    "core switch (worst case)": timed(core, min(len(core), 20)),
}))
"""


def main() -> None:
    rows = []
    databases = ["sqlite"] + (["postgresql"] if postgres_available() else [])
    with tempfile.TemporaryDirectory(prefix="careline-cmdb-bench-") as tmp:
        path = Path(tmp) / "cmdb.csv"
        relationships = write_csv(path, ITEMS)
        for database in databases:
            with scratch_env(database) as env:
                careline(env, "demo")
                start = time.perf_counter()
                careline(env, "cmdb", "import", str(path))
                import_s = time.perf_counter() - start
                rows.append(
                    {
                        "database": database,
                        "case": f"CSV import, {ITEMS:,} rows, {relationships:,} relationships",
                        "seconds": import_s,
                    }
                )
                out = subprocess.run(
                    [sys.executable, "-c", TIMER, str(SAMPLES)],
                    env={**env, "DJANGO_SETTINGS_MODULE": "careline.settings"},
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                data = json.loads(out.split("JSON ", 1)[1])
                for case in ("any item", "infrastructure only", "core switch (worst case)"):
                    rows.append(
                        {
                            "database": database,
                            "case": f"impact: {case} ({data['items']:,} items, {data['relationships']:,} rels)",
                            **data[case],
                        }
                    )
    report(
        "cmdb",
        rows,
        [
            "database",
            "case",
            "seconds",
            "samples",
            "p50_ms",
            "p99_ms",
            "max_ms",
            "mean_affected",
            "max_affected",
        ],
    )


if __name__ == "__main__":
    main()
