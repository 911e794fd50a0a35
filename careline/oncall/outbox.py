"""Putting a message in the outbox. Call inside the transaction of the change that causes it."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.utils import timezone

from careline.core import inserts
from careline.oncall.models import Channel, Notification


def message_domain() -> str:
    return settings.MAIL_DOMAIN


def new_message_id(thread: str) -> str:
    """`<INC-000123.9f1c…@careline.example>`: inbound mail finds the ticket from it."""
    return f"<{thread}.{uuid.uuid4().hex}@{message_domain()}>"


def thread_root(thread: str) -> str:
    return f"<{thread}.thread@{message_domain()}>"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str
    key: str  # idempotency: the same key is enqueued once
    thread: str = ""  # e.g. a ticket number: messages of a thread share References
    about: models.Model | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


_batch: contextvars.ContextVar[list[Notification] | None] = contextvars.ContextVar(
    "outbox_batch", default=None
)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Gather the messages enqueued inside the block into one INSERT at its end (none if it
    raises). Use inside the transaction of the change that causes them."""
    pending: list[Notification] = []
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    _insert(pending)


def _insert(notifications: list[Notification]) -> None:
    if notifications:
        # INSERT ... ON CONFLICT DO NOTHING: one statement, no savepoint, safe against a racing twin.
        inserts.insert_ignoring_conflicts(notifications)


def enqueue_email(email: Email) -> None:
    """Write the message, once per idempotency key (a repeat is silently dropped)."""
    if not email.to:
        return
    headers = dict(email.extra_headers)
    if email.thread:
        headers["Message-ID"] = new_message_id(email.thread)
        headers["In-Reply-To"] = thread_root(email.thread)
        headers["References"] = thread_root(email.thread)
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
    pending = _batch.get()
    if pending is not None:
        pending.append(notification)
    else:
        _insert([notification])
