"""What every channel shares: the outcome of one attempt, and one HTTP request judged.

An HTTP receiver's answer decides what happens next: 2xx is delivered; a network error, a
timeout, 5xx, 408 and 429 are worth another try (429's Retry-After is honoured); any other
4xx is a permanent refusal, and the message goes to the dead letters at once with the
receiver's own words, for an engineer to read and fix.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.utils import timezone

from careline.oncall.models import Notification

# Enough of a receiver's answer to diagnose it, not enough to fill the table.
ANSWER_CHARS = 500


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed message. `error` None: the receiver took it."""

    notification_id: int
    error: str | None = None
    permanent: bool = False
    retry_after_s: float | None = None
    at: datetime | None = None
    # False: never handed to anyone (the dispatcher gave the claim back unused).
    attempted: bool = True

    @classmethod
    def delivered(cls, notification: Notification) -> Outcome:
        return cls(notification.pk, at=timezone.now())

    @classmethod
    def failed(
        cls,
        notification: Notification,
        error: str,
        *,
        permanent: bool = False,
        retry_after_s: float | None = None,
    ) -> Outcome:
        return cls(notification.pk, error, permanent, retry_after_s, timezone.now())

    @classmethod
    def not_attempted(cls, notification: Notification) -> Outcome:
        return cls(notification.pk, attempted=False)


class Refused(Exception):
    """The message cannot be sent as it stands (no such target, a number that is not one):
    trying again will not help, so it is a dead letter at once."""


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date)."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, float((when - timezone.now()).total_seconds()))


def _answer(response: httpx.Response, secrets: tuple[str, ...]) -> str:
    text = " ".join(response.text.split())[:ANSWER_CHARS]
    # Some receivers echo the request URL, which carries a Slack or Teams token.
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<target URL>")
    return text


async def post(
    client: httpx.AsyncClient,
    notification: Notification,
    url: str,
    *,
    headers: dict[str, str],
    timeout_s: float,
    json: Any = None,
    content: bytes | None = None,
    data: dict[str, str] | None = None,
    auth: httpx.BasicAuth | None = None,
) -> Outcome:
    """POST one message and judge the answer. The idempotency key travels as
    `Idempotency-Key`, so a receiver can drop the repeat of a send that was cut short."""
    host = urlsplit(url).hostname or "the receiver"
    headers = {**headers, "Idempotency-Key": notification.idempotency_key}
    try:
        # The whole exchange, not each phase: a claim lasts only so long.
        async with asyncio.timeout(timeout_s):
            response = await client.post(
                url,
                headers=headers,
                json=json,
                content=content,
                data=data,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
    except TimeoutError:
        return Outcome.failed(notification, f"{host} did not answer within {timeout_s:g} s")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        # Trying again cannot mend the address; the URL itself is not repeated (a secret).
        return Outcome.failed(
            notification, "refused: the receiver's URL is not usable", permanent=True
        )
    except httpx.HTTPError as exc:
        # The exception's text, never the URL: a chat webhook's URL is its password.
        detail = str(exc) or type(exc).__name__
        return Outcome.failed(notification, f"cannot reach {host}: {detail}")
    status = response.status_code
    if 200 <= status < 300:
        return Outcome.delivered(notification)
    path = urlsplit(url).path
    answer = (
        f"{host} answered HTTP {status}: {_answer(response, (url, path if len(path) > 8 else ''))}"
    )
    if status in (408, 429) or status >= 500:
        return Outcome.failed(notification, answer, retry_after_s=retry_after(response))
    if 400 <= status < 500:
        return Outcome.failed(notification, f"refused: {answer}", permanent=True)
    # A redirect or an informational answer: not delivered; try again, in case it passes.
    return Outcome.failed(notification, answer)
