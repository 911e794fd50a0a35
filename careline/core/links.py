"""Absolute links to CareLine pages, for anything read outside a browser (email, pages, exports)."""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """CARELINE_BASE_URL joined with a site path ("/tickets/12/")."""
    if not path.startswith("/"):
        raise ValueError(f"path must start with '/' (got {path[:40]!r})")
    return settings.BASE_URL + path
