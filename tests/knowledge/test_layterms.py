"""The lay-term vocabulary: product names and short forms staff use are read as the IT words
the articles use, as whole words only."""

from __future__ import annotations

import pytest

from careline.knowledge.layterms import LAY_TERMS
from careline.knowledge.search import lay_expansion, words


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pyxis wont recognise me", "automated medication cabinet"),
        ("Vocera won't link up", "hands-free communication badge"),
        ("locked out of Epic", "ehr electronic health record"),
        ("U&E back but nothing showing", "lab results blood tests"),
        ("FP10s wont come out", "prescription"),
        ("pc nagging about a new pw", "password"),
    ],
)
def test_product_names_and_short_forms_are_read_as_it_words(query: str, expected: str) -> None:
    assert expected in lay_expansion(query)


@pytest.mark.parametrize("query", ["epicentre of the outage", "the pcr swab", "bpm too high"])
def test_only_whole_words_count(query: str) -> None:
    assert lay_expansion(query) == ""


def test_every_entry_can_match_a_query() -> None:
    """A phrase the tokenizer can never produce (punctuation inside it) would be dead."""
    for lay in LAY_TERMS:
        assert " ".join(words(lay)) == lay, lay
