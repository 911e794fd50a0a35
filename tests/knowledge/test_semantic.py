"""Hybrid search with the real sentence model (loaded once for the session)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from careline.knowledge import search, semantic
from careline.knowledge.models import Article
from tests.conftest import Hospital
from tests.knowledge.conftest import write


def test_staff_words_find_the_it_article_with_no_word_shared(
    semantic_on: None, hospital: Hospital
) -> None:
    cow = write(
        hospital.agent,
        "Computer on wheels battery runs flat",
        "Plug the workstation in whenever it is parked; check the charge gauge.",
    )
    write(hospital.agent, "Label printer prints blank labels", "Turn the roll over.")
    write(hospital.agent, "Account locked", "Wait fifteen minutes, then reset your password.")
    stored = Article.objects.get(pk=cow.pk)
    assert len(stored.embedding) == semantic.DIMENSIONS * 4
    assert stored.embedding_model == semantic.MODEL_NAME
    hits = search.search("trolley pc keeps conking out", user=hospital.nurse, limit=3)
    assert hits[0].id == cow.pk
    # The query's vector is cached: the same words again do not run the model.
    before = semantic.encode_query.cache_info().hits
    search.search("trolley pc keeps conking out", user=hospital.nurse, limit=3)
    assert semantic.encode_query.cache_info().hits == before + 1


def test_readiness_says_which_search_is_running(
    semantic_on: None, hospital: Hospital, monkeypatch: Any
) -> None:
    assert Client().get("/readyz").json()["knowledge_search"]["mode"] == "hybrid"
    monkeypatch.setattr(semantic, "ENABLED", False)
    status = Client().get("/readyz").json()["knowledge_search"]
    assert status["mode"] == "lexical"
    assert "CARELINE_KB_SEMANTIC" in status["reason"]
