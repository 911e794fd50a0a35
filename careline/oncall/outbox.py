"""Putting a message in the outbox. Call inside the transaction of the change that causes it.

`Email` + `enqueue_email` for mail; `Message` + `enqueue` for any channel (SMS, voice, chat,
signed webhooks), with the page, recipient and escalation level a page's messages carry and
a time before which the message must not leave (a delayed step: "call after 2 minutes").
`cancel_for_page` withdraws a page's delayed steps when someone acknowledges it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from careline.core import inserts
from careline.core.gather import Gathered
from careline.core.models import User
from careline.oncall.models import (
    TARGET_CHANNELS,
    Channel,
    DeliveryStatus,
    Notification,
    Page,
    WebhookTarget,
)


def message_domain() -> str:
    return settings.MAIL_DOMAIN


def new_message_id(thread: str) -> str:
    """`<INC-000123.9f1c…@careline.example>`: inbound mail finds the ticket from it."""
    return f"<{thread}.{uuid.uuid4().hex}@{message_domain()}>"


def thread_root(thread: str) -> str:
    return f"<{thread}.thread@{message_domain()}>"


def keyed_message_id(key: str) -> str:
    """A Message-ID fixed by the idempotency key: a resend is recognisably the same message."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{message_domain()}>"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    key: str  # idempotency: the same key is enqueued once
    thread: str = ""  # e.g. a ticket number: messages of a thread share References
    about: models.Model | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def _insert(notifications: list[Notification]) -> None:
    # INSERT ... ON CONFLICT DO NOTHING: one statement, no savepoint, safe against a racing twin.
    inserts.insert_ignoring_conflicts(notifications)


# `with outbox.batch():` gathers the messages enqueued inside the block into one INSERT at its
# end (none if it raises). Use inside the transaction of the change that causes them.
_messages: Gathered[Notification] = Gathered("outbox_batch", _insert)
batch = _messages.batch


def enqueue_email(email: Email) -> None:
    """Write the message, once per idempotency key (a repeat is silently dropped)."""
    if not email.to:
        return
    headers = dict(email.extra_headers)
    if email.thread:
        headers["Message-ID"] = new_message_id(email.thread)
        headers["In-Reply-To"] = thread_root(email.thread)
        headers["References"] = thread_root(email.thread)
    headers.setdefault("Message-ID", keyed_message_id(email.key[:200]))
    now = timezone.now()
    notification = Notification(
        idempotency_key=email.key[:200],
        channel=Channel.EMAIL,
        to=email.to,
        subject=email.subject[:300],
        body=email.body,
        headers=headers,
        next_attempt_at=now,
        created_at=now,
        object_type=email.about._meta.label_lower if email.about is not None else "",
        object_id=str(email.about.pk) if email.about is not None else "",
    )
    _messages.add(notification)


@dataclass(frozen=True, kw_only=True)
class Message:
    """One message on any channel. `to` is an email address, an E.164 number or a chat
    handle; for Slack, Teams and signed webhooks `target` names where it goes (and `to`, if
    blank, becomes the target's code)."""

    channel: str
    to: str = ""
    target: WebhookTarget | None = None
    subject: str
    body: str
    key: str  # idempotency: the same key is enqueued once
    about: models.Model | None = None
    recipient: User | None = None
    page: Page | None = None
    page_level: int | None = None
    not_before: datetime | None = None  # a delayed step: not sent before then
    extra_headers: dict[str, str] = field(default_factory=dict)


def _checked(message: Message) -> str:
    """The message's address; a message no dispatcher could ever send is the caller's bug."""
    if message.channel not in Channel.values:
        raise ValueError(f"channel must be one of {Channel.values} (got {message.channel!r})")
    if not message.key:
        raise ValueError("key must not be empty: it is what makes enqueuing idempotent")
    if message.channel in TARGET_CHANNELS:
        if message.target is None:
            raise ValueError(f"a {message.channel} message needs a target")
        if message.target.kind != message.channel:
            raise ValueError(
                f"target {message.target.code} is a {message.target.kind} target, not {message.channel}"
            )
        return message.to or message.target.code
    if message.target is not None:
        raise ValueError(f"a {message.channel} message goes to an address, not a target")
    if not message.to:
        raise ValueError(f"a {message.channel} message needs an address (to)")
    return message.to


def enqueue(message: Message) -> None:
    """Write the message, once per idempotency key (a repeat is silently dropped)."""
    to = _checked(message)
    now = timezone.now()
    key = message.key[:200]
    headers = dict(message.extra_headers)
    if message.channel == Channel.EMAIL:
        headers.setdefault("Message-ID", keyed_message_id(key))
    notification = Notification(
        idempotency_key=key,
        channel=message.channel,
        to=to[:254],
        target=message.target,
        subject=message.subject[:300],
        body=message.body,
        headers=headers,
        next_attempt_at=max(now, message.not_before) if message.not_before else now,
        created_at=now,
        object_type=message.about._meta.label_lower if message.about is not None else "",
        object_id=str(message.about.pk) if message.about is not None else "",
        recipient=message.recipient,
        page=message.page,
        page_level=message.page_level,
    )
    _messages.add(notification)


def cancel_for_page(page_id: int) -> int:
    """Withdraw the page's messages that are still waiting and were never tried (its delayed
    steps); how many. Call in the transaction of the acknowledgement, whose audit event says
    how many were withdrawn. A message already being sent, or tried before, goes on: it may
    have reached someone already."""
    return Notification.objects.filter(
        page_id=page_id, status=DeliveryStatus.PENDING, attempts=0
    ).update(status=DeliveryStatus.CANCELLED, claimed_until=None)
