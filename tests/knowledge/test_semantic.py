"""Hybrid search with the real sentence model (loaded once for the session)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from careline.knowledge import search, semantic, services
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


def test_the_ways_staff_describe_a_problem_lift_its_article(
    semantic_on: None, hospital: Hospital
) -> None:
    badge = write(
        hospital.agent,
        "Hands-free communication badge will not connect",
        "Check the battery; press the main button and say sign in, then your name. Not "
        "connected means no Wi-Fi: walk back into the corridor.",
    )
    phone = write(
        hospital.agent,
        "Ward phone not ringing",
        "Check the ward phone is switched on and charged, and that it is not set to silent. "
        "Swap it for a spare from the charging rack.",
    )
    query = "the clip-on gadget I call people with is dead"
    before = bytes(Article.objects.get(pk=badge.pk).embedding)
    assert search.search(query, user=hospital.nurse, limit=2)[0].id == phone.pk
    services.update_article(
        hospital.agent,
        badge.pk,
        services.ArticleDraft(
            asked_as=[
                "the voice badge I wear cannot call anyone",
                "clip-on badge will not put calls through",
            ]
        ),
    )
    # Changing the phrases alone embeds the article again.
    assert bytes(Article.objects.get(pk=badge.pk).embedding) != before
    assert [h.id for h in search.search(query, user=hospital.nurse, limit=2)] == [
        badge.pk,
        phone.pk,
    ]


def test_an_article_without_phrases_keeps_its_vector(semantic_on: None) -> None:
    article = ("Label printer prints blank labels", "Turn the roll over and press Feed.")
    [plain] = semantic.encode_articles([article])
    assert semantic.encode_articles([article], [[]]) == [plain]
    [with_phrases] = semantic.encode_articles([article], [["stickers come out empty"]])
    assert with_phrases != plain
    assert len(with_phrases) == semantic.DIMENSIONS * 4
    with pytest.raises(ValueError, match="one list of phrases per article"):
        semantic.encode_articles([article], [[], []])
