"""The outbox seen from outside: what is waiting, what died, and sending a message again.

Reading needs OUTBOX_MANAGE (a message's subject names the problem it is about); sending a
dead or cancelled message again is audited. No answer here ever holds a webhook's URL: a
message names its target by code.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.oncall.models import Channel, DeliveryStatus, Notification

RETRYABLE = (DeliveryStatus.DEAD, DeliveryStatus.CANCELLED)


def notifications(
    actor: User,
    *,
    status: str | None = None,
    channel: str | None = None,
    page: int | None = None,
) -> QuerySet[Notification]:
    """Messages newest first, filtered; the caller slices a page of them."""
    require(actor, Perm.OUTBOX_MANAGE)
    rows = Notification.objects.select_related("target", "recipient")
    if status:
        rows = rows.filter(status=status)
    if channel:
        rows = rows.filter(channel=channel)
    if page is not None:
        rows = rows.filter(page_id=page)
    return rows.order_by("-created_at", "-id")


def dead_letters(actor: User) -> QuerySet[Notification]:
    return notifications(actor, status=DeliveryStatus.DEAD)


def waiting_by_channel(actor: User) -> dict[str, int]:
    """Messages not yet sent (waiting or being sent), per channel, every channel named."""
    require(actor, Perm.OUTBOX_MANAGE)
    counts = dict(
        Notification.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])
        .values_list("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    return {channel: counts.get(channel, 0) for channel in Channel.values}


def retry(actor: User, notification_id: int) -> Notification:
    """Send a dead or cancelled message again: back to waiting, attempts reset, due now."""
    require(actor, Perm.OUTBOX_MANAGE)
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None:
            raise NotFound(f"no notification has id {notification_id}", field="id")
        if notification.status not in RETRYABLE:
            raise Conflict(
                f"notification {notification_id} is {notification.status}; only a dead or "
                "cancelled one can be sent again",
                field="status",
            )
        before = audit.snapshot(notification, ["status", "attempts", "last_error"])
        notification.status = DeliveryStatus.PENDING
        notification.attempts = 0
        notification.next_attempt_at = timezone.now()
        notification.claimed_until = None
        notification.last_error = ""
        notification.save(
            update_fields=["status", "attempts", "next_attempt_at", "claimed_until", "last_error"]
        )
        audit.record(
            "oncall.notification_retried",
            actor=actor,
            obj=notification,
            summary=f"{notification.channel} to {notification.to} sent again: {notification.subject}",
            before=before,
            after=audit.snapshot(notification, ["status", "attempts"]),
        )
    return notification
