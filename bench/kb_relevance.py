"""Knowledge-base search relevance: recall@1, recall@3 and MRR on labelled queries.

Runs over the demo articles (careline/knowledge/demo_articles) and bench/data/kb_queries.json
by default; --articles DIR and --queries FILE measure any other set in the same format. The
articles are imported into a scratch SQLite database exactly as `careline kb import` does
(with embeddings when the semantic extra is installed), then every query is run through:

- hybrid (the product's default: embedding cosine plus a bonus for lexical rank)
- variants of it (other weights, reciprocal-rank fusion, no typo tolerance, no lay terms) to
  show what each part adds
- lexical alone (FTS5, weighted bm25, stemming, typo tolerance, lay terms): what search is
  without the semantic extra
- semantic alone (embedding cosine)
- baseline: plain BM25 (FTS5 bm25 with no weights or stemming over title and body, the
  query's words OR-ed), in an in-memory table built from the same articles.

Queries are also split by whether they share any word (stop words aside) with their
article's title, summary, tags, "also asked as" phrases or body; the issue's target is on
those that share none.

Last, the articles' "also asked as" phrases are removed and hybrid and semantic search run
again: what search does for articles whose writers listed none.

    .venv/bin/python bench/kb_relevance.py [--articles DIR] [--queries FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_ARTICLES = ROOT / "careline" / "knowledge" / "demo_articles"
DEFAULT_QUERIES = ROOT / "bench" / "data" / "kb_queries.json"
RESULTS = ROOT / "bench" / "results"
DEPTH = 10


def setup_django(data_dir: str) -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ["CARELINE_DATA_DIR"] = data_dir
    os.environ.setdefault("CARELINE_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "r@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "r@3": sum(1 for r in ranks if r is not None and r <= 3) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }


class Baseline:
    """Plain BM25: FTS5 over title and body, one unweighted column, no stemming."""

    def __init__(self, articles: dict[int, tuple[str, str]]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(text, tokenize='unicode61')")
        self.db.executemany(
            "INSERT INTO docs(rowid, text) VALUES (?, ?)",
            [(pk, f"{title}\n{body}") for pk, (title, body) in articles.items()],
        )

    def rank(self, query: str) -> list[int]:
        words = re.findall(r"[^\W_]+", query.lower())
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        rows = self.db.execute(
            "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
            (match, DEPTH),
        )
        return [r[0] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--no-write", action="store_true", help="do not write the JSON result")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="careline-kb-relevance-") as data_dir:
        setup_django(data_dir)
        from careline.core.demo import SERVICES
        from careline.core.models import ClinicalService
        from careline.knowledge import files, search, semantic, services
        from careline.knowledge.models import Article

        for code, name, tier, _about in SERVICES:
            ClinicalService.objects.get_or_create(code=code, defaults={"name": name, "tier": tier})
        started = time.monotonic()
        try:
            files.import_dir(None, args.articles)
        except files.ImportFailed as exc:
            sys.exit("\n".join(exc.errors))
        import_s = time.monotonic() - started
        by_title = {a.title.lower(): a for a in Article.objects.all()}
        slug_to_id: dict[str, int] = {}
        article_words: dict[int, set[str]] = {}
        for path in sorted(args.articles.glob("*.md")):
            draft = files.parse(path.read_text(encoding="utf-8"))
            article = by_title[(draft.title or "").lower()]
            slug_to_id[path.stem] = article.pk
            # The writer's "also asked as" phrases count as the article's words too.
            text = f"{article.title} {article.summary} {article.tags} {article.body}"
            text = f"{text} {article.asked_as}"
            article_words[article.pk] = set(search._terms_all(text))
        labelled = json.loads(args.queries.read_text(encoding="utf-8"))["queries"]
        unknown = sorted({q["article"] for q in labelled} - set(slug_to_id))
        if unknown:
            sys.exit(f"queries name articles that are not in {args.articles}: {unknown}")

        baseline = Baseline({a.pk: (a.title, a.body) for a in Article.objects.all()})
        hybrid = search.Options()
        configs: list[tuple[str, Any]] = [
            ("hybrid (default: score fusion 0.25)", hybrid),
            ("hybrid, score fusion 0.5", search.Options(fusion="score", lexical_weight=0.5)),
            ("hybrid, score fusion 0.1", search.Options(fusion="score", lexical_weight=0.1)),
            ("hybrid, rank fusion (rrf)", search.Options(fusion="rrf", lexical_weight=1.0)),
            ("hybrid, rrf lexical at 0.5", search.Options(fusion="rrf", lexical_weight=0.5)),
            ("hybrid, with typo tolerance", search.Options(typos=True)),
            ("hybrid, no lay terms", search.Options(lay_terms=False)),
            ("lexical alone (typo tolerance on)", search.Options(mode="lexical")),
            ("lexical, no typo tolerance", search.Options(mode="lexical", typos=False)),
            ("lexical, no lay terms", search.Options(mode="lexical", lay_terms=False)),
            (
                "lexical, no typos or lay terms",
                search.Options(mode="lexical", typos=False, lay_terms=False),
            ),
        ]
        if semantic.active():
            configs.append(("semantic alone", search.Options(mode="semantic")))
            configs.append(
                (
                    "semantic alone, raw query",
                    search.Options(mode="semantic", typos=False, lay_terms=False),
                )
            )
        else:
            configs = [c for c in configs if "hybrid" not in c[0]]
            print("semantic search is not active: hybrid rows are left out\n")

        no_shared = [
            not (set(search._terms_all(q["query"])) & article_words[slug_to_id[q["article"]]])
            for q in labelled
        ]
        rows: list[dict[str, Any]] = []

        def add(name: str, ranking: list[list[int]], seconds: float) -> None:
            ranks = []
            for q, found in zip(labelled, ranking, strict=True):
                want = slug_to_id[q["article"]]
                ranks.append(found.index(want) + 1 if want in found else None)
            whole = metrics(ranks)
            disjoint = metrics([r for r, d in zip(ranks, no_shared, strict=True) if d])
            shared = metrics([r for r, d in zip(ranks, no_shared, strict=True) if not d])
            rows.append(
                {
                    "ranking": name,
                    **whole,
                    "no_shared_r@1": disjoint["r@1"],
                    "no_shared_r@3": disjoint["r@3"],
                    "no_shared_mrr": disjoint["mrr"],
                    "shared_r@3": shared["r@3"],
                    "ms_per_query": 1000 * seconds / len(labelled),
                }
            )

        if semantic.active():
            semantic.encode_query("warm the model up before timing")
        misses: list[dict[str, Any]] = []
        for name, options in configs:
            started = time.monotonic()
            ranking = [
                [pk for pk, _ in search.ranked(q["query"], user=None, options=options)[:DEPTH]]
                for q in labelled
            ]
            add(name, ranking, time.monotonic() - started)
            if options is hybrid:
                titles = dict(Article.objects.values_list("id", "title"))
                misses = [
                    {
                        "query": q["query"],
                        "want": q["article"],
                        "got": [titles[pk] for pk in found[:3]],
                    }
                    for q, found in zip(labelled, ranking, strict=True)
                    if slug_to_id[q["article"]] not in found[:3]
                ]
        if semantic.active():
            # The same articles without their phrases, embedded again in one batch.
            for pk in Article.objects.exclude(asked_as="").values_list("pk", flat=True):
                services.update_article(None, pk, services.ArticleDraft(asked_as=[]), embed=False)
            services.embed_missing()
            for name, options in [
                ("hybrid, no asked-as phrases", hybrid),
                ("semantic alone, no asked-as phrases", search.Options(mode="semantic")),
            ]:
                started = time.monotonic()
                ranking = [
                    [pk for pk, _ in search.ranked(q["query"], user=None, options=options)[:DEPTH]]
                    for q in labelled
                ]
                add(name, ranking, time.monotonic() - started)
        started = time.monotonic()
        add(
            "baseline: plain BM25",
            [baseline.rank(q["query"]) for q in labelled],
            time.monotonic() - started,
        )

    columns = [
        "ranking",
        "r@1",
        "r@3",
        "mrr",
        "no_shared_r@1",
        "no_shared_r@3",
        "no_shared_mrr",
        "shared_r@3",
        "ms_per_query",
    ]
    widths = {c: max(len(c), *(len(fmt(r[c])) for r in rows)) for c in columns}
    print(
        f"{len(slug_to_id)} articles, {len(labelled)} queries: {sum(no_shared)} share no word "
        f"with their article, {len(labelled) - sum(no_shared)} share at least one "
        f"(import with embeddings: {import_s:.1f} s)\n"
    )
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(fmt(row[c]).ljust(widths[c]) for c in columns))
    best = rows[0]
    base = rows[-1]
    print(
        f"\nhybrid vs baseline on no-shared-word queries: recall@3 "
        f"{100 * (best['no_shared_r@3'] - base['no_shared_r@3']):+.0f} points"
    )
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / "kb_relevance.json"
        out.write_text(
            json.dumps(
                {
                    "benchmark": "kb_relevance",
                    "articles": len(slug_to_id),
                    "queries": len(labelled),
                    "no_shared_word_queries": sum(no_shared),
                    "semantic": semantic.status(),
                    "rows": rows,
                    "misses_hybrid_top3": misses,
                },
                indent=2,
            )
        )
        print(f"written {out.relative_to(ROOT)}")


def fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
