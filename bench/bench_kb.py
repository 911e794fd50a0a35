"""Knowledge-base search and portal-suggestion latency with 10,000 articles.

Target (issue: Knowledge base, Measured): p99 under 50 ms for search and for suggestions.

The articles are synthetic, built from the demo articles: each takes the title of one
demo article with a distinguishing suffix and a body mixing paragraphs of two others, so
the index holds realistic hospital words in realistic proportions. Embedding 10,000
articles with the sentence model would take an hour on this CPU and would not change the
latency (a search multiplies the query by every stored vector, whatever they hold), so
only the 53 demo articles are embedded by the model; each synthetic article stores the
normalised mean of its two source articles' vectors plus a little noise. Rows are written
with bulk_create (the FTS5 triggers or the generated tsvector index them as usual).

Timed in-process, one search at a time, through the same functions the API and the portal
call, after one warm-up search and suggestion (the model load and the first index read are
reported separately). Queries are the labelled staff queries of bench/data/kb_queries.json, run
twice: first with a cold query-embedding cache (each query new), then warm.

    .venv/bin/python bench/bench_kb.py            # SQLite, and PostgreSQL if reachable
    CARELINE_BENCH_ARTICLES=2000 .venv/bin/python bench/bench_kb.py
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import postgres_available, report, scratch_env  # noqa: E402

ARTICLES = int(os.environ.get("CARELINE_BENCH_ARTICLES", "10000"))
QUERIES = ROOT / "bench" / "data" / "kb_queries.json"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(database: str) -> list[dict[str, Any]]:
    """One database, in a child process so each gets its own Django settings."""
    with scratch_env(database) as env:
        env = {**env, "CARELINE_BENCH_CHILD": "1", "CARELINE_BENCH_DB": database}
        out = subprocess.run(
            [sys.executable, __file__], env=env, capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            sys.exit(f"{database}: benchmark failed\n{out.stdout}\n{out.stderr}")
        rows: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
        return rows


def child() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command

    from careline.core.demo import SERVICES
    from careline.core.models import ClinicalService
    from careline.knowledge import files, hooks, search, semantic
    from careline.knowledge.demo import ARTICLES as DEMO
    from careline.knowledge.models import Article

    database = os.environ["CARELINE_BENCH_DB"]
    call_command("migrate", verbosity=0)
    for code, name, tier, _about in SERVICES:
        ClinicalService.objects.get_or_create(code=code, defaults={"name": name, "tier": tier})
    started = time.monotonic()
    files.import_dir(None, DEMO)
    demo_s = time.monotonic() - started
    demo = list(Article.objects.all())
    vectors = {a.pk: np.frombuffer(bytes(a.embedding), dtype="<f4") for a in demo}
    rng = random.Random(7)
    noise = np.random.default_rng(7)
    started = time.monotonic()
    batch: list[Article] = []
    for n in range(ARTICLES - len(demo)):
        a, b, c = rng.sample(demo, 3)
        paragraphs = b.body.split("\n\n") + c.body.split("\n\n")
        rng.shuffle(paragraphs)
        vector = vectors[b.pk] + vectors[c.pk] + noise.normal(0, 0.02, semantic.DIMENSIONS)
        vector = (vector / np.linalg.norm(vector)).astype("<f4")
        batch.append(
            Article(
                title=f"{a.title} ({n % 97}, site {n % 13})",
                summary=b.summary,
                body="\n\n".join(paragraphs[:6]),
                tags=c.tags,
                status="published",
                audience="everyone" if n % 10 else "it",
                embedding=vector.tobytes(),
                embedding_model=semantic.MODEL_NAME,
            )
        )
        if len(batch) == 1000:
            Article.objects.bulk_create(batch)
            batch = []
    Article.objects.bulk_create(batch)
    seed_s = time.monotonic() - started
    if database == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:
            # As autovacuum leaves a table in steady use (statistics, visibility map).
            cursor.execute("VACUUM ANALYZE knowledge_article")

    queries = [q["query"] for q in json.loads(QUERIES.read_text())["queries"]]
    started = time.monotonic()
    search.search("warm up", user=None, limit=10)
    first_s = time.monotonic() - started
    search._corpus = None
    started = time.monotonic()
    search.search("warm up", user=None, limit=10)
    refresh_s = time.monotonic() - started
    # The portal's first suggestion also builds Django's URL resolver (one-off, per process).
    hooks.suggest("warm up", "PRINT")
    semantic.encode_query.cache_clear()

    rows = []
    for label, call in (
        ("search (API)", lambda q: search.search(q, user=None, limit=10)),
        ("suggestions (portal)", lambda q: hooks.suggest(q, "PRINT")),
    ):
        for cache in ("new query", "repeated query"):
            if cache == "new query":
                semantic.encode_query.cache_clear()
            timings = []
            for q in queries:
                started = time.perf_counter()
                call(q)
                timings.append(1000 * (time.perf_counter() - started))
            rows.append(
                {
                    "database": database,
                    "articles": Article.objects.count(),
                    "call": label,
                    "query": cache,
                    "n": len(timings),
                    "p50_ms": statistics.median(timings),
                    "p99_ms": percentile(timings, 99),
                    "max_ms": max(timings),
                }
            )
    rows.append(
        {
            "database": database,
            "articles": Article.objects.count(),
            "call": "one-off costs",
            "query": (
                f"demo import with model {demo_s:.1f} s; seeding {seed_s:.1f} s; first search "
                f"(model load + index read) {first_s:.1f} s; index re-read after an edit "
                f"{refresh_s:.2f} s"
            ),
        }
    )
    print(json.dumps(rows))


def main() -> None:
    rows = []
    for database in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        rows += run(database)
    report(
        "kb",
        rows,
        ["database", "articles", "call", "query", "n", "p50_ms", "p99_ms", "max_ms"],
    )


if __name__ == "__main__":
    if os.environ.get("CARELINE_BENCH_CHILD"):
        child()
    else:
        main()
