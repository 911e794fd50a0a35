"""Self-help suggestions on the portal: the hook the knowledge base fills.

The portal asks `suggest(text, service_code)` as the requester types; each registered
provider (the knowledge base registers one in its AppConfig.ready()) returns the articles
that may answer the problem. With no provider registered the answer is empty and the
portal shows nothing. Providers are called while someone types, so they must be cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Enough to be useful on a phone without pushing the form's submit button out of sight.
MAX_SUGGESTIONS = 5
# Fewer characters than this say too little to search on.
MIN_TEXT = 4


@dataclass(frozen=True)
class Suggestion:
    title: str
    url: str
    summary: str = ""


Provider = Callable[[str, str | None], list[Suggestion]]
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def unregister(provider: Provider) -> None:
    if provider in _providers:
        _providers.remove(provider)


# Told which suggestion urls the requester had on screen when they filed a ticket anyway.
ShownRecorder = Callable[[int, list[str]], None]
_shown_recorders: list[ShownRecorder] = []


def register_shown(recorder: ShownRecorder) -> None:
    if recorder not in _shown_recorders:
        _shown_recorders.append(recorder)


def record_shown(ticket_id: int, urls: list[str]) -> None:
    """The ticket `ticket_id` was filed with these suggestions on screen."""
    urls = list(dict.fromkeys(urls))[: MAX_SUGGESTIONS * 2]
    for recorder in _shown_recorders:
        recorder(ticket_id, urls)


def suggest(text: str, service_code: str | None) -> list[Suggestion]:
    """Articles that may answer `text` (about the service `service_code`, when known)."""
    text = " ".join(text.split())
    if len(text) < MIN_TEXT:
        return []
    found: list[Suggestion] = []
    seen: set[str] = set()
    for provider in _providers:
        for suggestion in provider(text, service_code or None):
            if suggestion.url not in seen:
                seen.add(suggestion.url)
                found.append(suggestion)
    return found[:MAX_SUGGESTIONS]
