"""The sign-in page links to the status page when the visitor could read it without signing in."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest

from careline.reports.status import access


def status_page(request: HttpRequest) -> dict[str, Any]:
    # Lazy: templates call it only where they ask (the sign-in page), not on every page.
    return {"status_page_open": partial(access.anonymous_may_read, request)}
