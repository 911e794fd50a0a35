"""The outbox dispatcher: an engine loop that sends due notifications, retrying with backoff.

Claims are conditional UPDATEs that lapse, so several engines may run it and each message is
sent by one of them; a message whose send was interrupted is sent again (at least once, with
the same Message-ID, so a receiver can tell).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.oncall.models import DeliveryStatus, Notification
from careline.oncall.smtp import SmtpConfig, build_message, open_connection

log = logging.getLogger("careline.outbox")

BATCH = 50
MAX_ATTEMPTS = 12  # with the backoff below: about 9 hours of trying
CLAIM_SECONDS = 120
ACTIVE = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]


def backoff(attempts: int) -> timedelta:
    """15 s, 30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


def _due(now: datetime) -> Q:
    return Q(status__in=ACTIVE, next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def claim_due(now: datetime, limit: int = BATCH) -> list[Notification]:
    candidates = list(
        Notification.objects.filter(_due(now))
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    claimed = [
        pk
        for pk in candidates
        # Only the dispatcher whose UPDATE matched owns the row.
        if Notification.objects.filter(_due(now), pk=pk).update(
            status=DeliveryStatus.SENDING, claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
        )
    ]
    return list(Notification.objects.filter(pk__in=claimed).order_by("id"))


def mark_sent(notification: Notification) -> None:
    Notification.objects.filter(pk=notification.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
    )


def mark_failed(notification: Notification, error: str) -> None:
    attempts = notification.attempts + 1
    dead = attempts >= MAX_ATTEMPTS
    Notification.objects.filter(pk=notification.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING,
        attempts=attempts,
        next_attempt_at=timezone.now() + backoff(attempts),
        claimed_until=None,
        last_error=error[:2000],
    )
    log.warning(
        "notification=%s to=%s attempt=%s %s error=%s",
        notification.pk,
        notification.to,
        attempts,
        "dead" if dead else "will retry",
        error,
    )


def send_batch(
    config: SmtpConfig, batch: list[Notification]
) -> list[tuple[Notification, str | None]]:
    """Send over one SMTP connection; the outcome of each message (None = accepted)."""
    outcomes: list[tuple[Notification, str | None]] = []
    try:
        connection = open_connection(config)
    except (OSError, smtplib.SMTPException) as exc:
        return [(n, f"cannot reach {config.host}:{config.port}: {exc}") for n in batch]
    try:
        for notification in batch:
            message = build_message(
                settings.MAIL_FROM,
                notification.to,
                notification.subject,
                notification.body,
                notification.headers,
            )
            try:
                connection.send_message(message)
            except (OSError, smtplib.SMTPException) as exc:
                outcomes.append((notification, str(exc)))
            else:
                outcomes.append((notification, None))
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return outcomes


async def dispatch_once() -> int:
    """One round: claim, send, record. Returns how many were sent."""
    if not settings.SMTP_URL:
        return 0
    config = SmtpConfig.from_url(settings.SMTP_URL)
    batch = await db(claim_due, timezone.now())
    if not batch:
        return 0
    outcomes = await asyncio.to_thread(send_batch, config, batch)
    sent = 0
    for notification, error in outcomes:
        if error is None:
            await db(mark_sent, notification)
            sent += 1
        else:
            await db(mark_failed, notification, error)
    return sent


async def _tick() -> None:
    while await dispatch_once() == BATCH:
        pass  # a full batch: more may be waiting


def register() -> None:
    # On PostgreSQL every engine dispatches (claims keep them apart); on SQLite the leader does.
    shared = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    register_loop(
        LoopSpec(
            "outbox",
            interval_s=settings.OUTBOX_INTERVAL_SECONDS,
            tick=_tick,
            leader_only=not shared,
        )
    )
