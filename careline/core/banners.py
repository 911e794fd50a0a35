"""The banner area at the top of every page (active downtime, major outages).

Apps register a provider in their AppConfig.ready(); each returns the banners that apply
to the request now. Providers are called on every page, so they must be cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class Banner:
    level: str  # "critical", "warning" or "info"
    text: str
    url: str = ""


Provider = Callable[[HttpRequest], list[Banner]]
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def active(request: HttpRequest) -> list[Banner]:
    found: list[Banner] = []
    for provider in _providers:
        found.extend(provider(request))
    return found
