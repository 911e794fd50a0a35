"""Knowledge-base fixtures: articles written the way IT writes them, and the sentence model.

Most tests run lexical search only (semantic off), which is fast; the few that need
embeddings share one model loaded once for the session.
"""

from __future__ import annotations

from typing import Any

import pytest

from careline.knowledge import search, semantic, services
from careline.knowledge.models import Article
from tests.conftest import Hospital


@pytest.fixture(autouse=True)
def _lexical_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "ENABLED", False)
    # Each test has its own rows in a rolled-back transaction: never reuse a cached index.
    monkeypatch.setattr(search, "_corpus", None)


@pytest.fixture(scope="session")
def _loaded_model() -> Any:
    if not semantic.installed():
        pytest.skip("the semantic extra is not installed")
    return semantic.model()


@pytest.fixture
def semantic_on(_loaded_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hybrid search with the real all-MiniLM-L6-v2 model (loaded once per session)."""
    monkeypatch.setattr(semantic, "ENABLED", True)


def write(
    author: Any, title: str, body: str, *, status: str = "published", **fields: Any
) -> Article:
    return services.create_article(
        author, services.ArticleDraft(title=title, body=body, status=status, **fields)
    )


@pytest.fixture
def library(hospital: Hospital) -> dict[str, Article]:
    """A handful of articles, one for IT only and one still a draft."""
    agent = hospital.agent
    return {
        "cow": write(
            agent,
            "Computer on wheels battery runs flat",
            "Plug the cart in whenever it is parked. Check the battery gauge before a "
            "medication round.",
            summary="Keep the cart charged.",
            tags=["battery", "cart"],
        ),
        "wristband": write(
            agent,
            "Wristband printer jammed",
            "Open the cover, pull the jammed band towards the front and reload the roll.",
            services=["PRINT"],
        ),
        "scanner": write(
            agent,
            "Barcode scanner does not scan",
            "Hold the scanner 10 cm from the barcode. A printer is not needed.",
        ),
        "locked": write(
            agent,
            "Account locked after too many attempts",
            "Wait 15 minutes, then try again, or reset your password.",
        ),
        "it_only": write(
            agent,
            "Unlock an account from the directory console",
            "Agents: open the directory console, find the account, choose Unlock.",
            audience="it",
        ),
        "draft": write(
            agent, "Printer driver rollout", "Draft notes about the printer driver.", status="draft"
        ),
    }
