"""The knowledge base's part of the demo hospital: the articles in demo_articles/."""

from __future__ import annotations

from pathlib import Path

from careline.knowledge import files

ARTICLES = Path(__file__).resolve().parent / "demo_articles"


def load() -> None:
    # Idempotent: articles are matched by title, and unchanged ones get no new version.
    files.import_dir(None, ARTICLES)
