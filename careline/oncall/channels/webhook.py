"""A generic JSON webhook, signed with HMAC-SHA256 so the receiver knows it came from CareLine.

Each request is a POST of `Content-Type: application/json` with these headers:

    X-CareLine-Timestamp: 1795917600            (Unix seconds when the request was signed)
    X-CareLine-Signature: sha256=<hex digest>   (HMAC-SHA256 with the target's signing key
                                                 over the timestamp, ".", and the raw body)
    Idempotency-Key: <the message's key>        (the same on every attempt of one message)

To verify, a receiver recomputes the digest over the exact bytes it received, compares it in
constant time, and refuses a timestamp more than a few minutes from its own clock (so a
captured request cannot be replayed later):

    expected = hmac.new(key, f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    hmac.compare_digest(f"sha256={expected}", signature_header)

The body: {"id": key, "notification": id, "channel": "webhook", "to", "subject", "body",
"object": {"type", "id"} or null, "page": page id or null, "page_level", "created_at"}.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone

from careline.oncall.channels.base import Outcome, Refused, post
from careline.oncall.channels.targets import signing_key_of, target_of, url_of
from careline.oncall.models import Notification

SIGNATURE_HEADER = "X-CareLine-Signature"
TIMESTAMP_HEADER = "X-CareLine-Timestamp"


def sign(key: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def payload(notification: Notification) -> dict[str, Any]:
    about = (
        {"type": notification.object_type, "id": notification.object_id}
        if notification.object_type
        else None
    )
    return {
        "id": notification.idempotency_key,
        "notification": notification.pk,
        "channel": notification.channel,
        "to": notification.to,
        "subject": notification.subject,
        "body": notification.body,
        "object": about,
        "page": notification.page_id,
        "page_level": notification.page_level,
        "created_at": notification.created_at.isoformat(),
    }


def signed_request(notification: Notification, key: str) -> tuple[bytes, dict[str, str]]:
    """The exact bytes to send and the headers that sign them."""
    body = json.dumps(payload(notification), separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(timezone.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(key, timestamp, body),
    }
    return body, headers


async def send(client: httpx.AsyncClient, notification: Notification) -> Outcome:
    try:
        target = target_of(notification)
        url, key = url_of(target), signing_key_of(target)
    except Refused as exc:
        return Outcome.failed(notification, f"refused: {exc}", permanent=True)
    body, headers = signed_request(notification, key)
    return await post(
        client,
        notification,
        url,
        headers=headers,
        content=body,
        timeout_s=float(settings.OUTBOX_SEND_TIMEOUT_S),
    )
