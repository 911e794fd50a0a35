"""Markdown from people is rendered without anything that could run in a reader's browser."""

from __future__ import annotations

import pytest

from careline.core.markdown import render


def test_ordinary_markdown_renders() -> None:
    html = render(
        "**Restart** the cart:\n\n1. Hold power\n2. Wait\n\n[Guide](https://intranet.example/cart)"
    )
    assert "<strong>Restart</strong>" in html
    assert "<ol>" in html
    assert 'href="https://intranet.example/cart"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        # raw HTML is shown as text, never as markup
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "<img"),
        ('<a href="javascript:alert(1)">x</a>', "<a "),
        ('<iframe src="https://evil.example"></iframe>', "<iframe"),
        ("<style>body{display:none}</style>", "<style"),
        # Markdown links and images with dangerous schemes lose them
        ("[click](javascript:alert(1))", 'href="javascript'),
        ("[click](JaVaScRiPt:alert(1))", 'href="javascript'),
        ("![x](data:text/html;base64,PHNjcmlwdD4=)", 'src="data:'),
        ("![x](https://example.org/a.png)", "onerror"),
    ],
)
def test_nothing_executable_survives(hostile: str, forbidden: str) -> None:
    assert forbidden not in render(hostile).lower()
