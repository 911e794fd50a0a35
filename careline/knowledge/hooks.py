"""What the knowledge base plugs into the portal and /readyz."""

from __future__ import annotations

import re

from django.urls import reverse

from careline.knowledge import search, semantic, services
from careline.servicedesk.suggestions import MAX_SUGGESTIONS, Suggestion

_ARTICLE_URL = re.compile(r"^/kb/(\d+)/")


def suggest(text: str, service_code: str | None) -> list[Suggestion]:
    """Articles for everyone that may answer what the requester is typing."""
    try:
        hits = search.search(text, user=None, limit=MAX_SUGGESTIONS, service=service_code)
    except search.EmptyQuery:
        return []
    return [
        Suggestion(
            title=hit.title,
            url=reverse("knowledge:article", args=[hit.id]) + "?from=portal",
            summary=hit.summary,
        )
        for hit in hits
    ]


def record_shown(ticket_id: int, urls: list[str]) -> None:
    """The portal filed a ticket: keep which of our articles it had suggested."""
    ids = [int(m.group(1)) for m in (_ARTICLE_URL.match(u) for u in urls) if m]
    if ids:
        services.record_shown(ticket_id, ids)


def readiness() -> dict[str, object]:
    return semantic.status()
