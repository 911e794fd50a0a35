"""On-call API: The outbox seen from outside: notifications, the dead-letter list, retry.

A notification names its target by code; no answer ever holds a webhook's URL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from careline.core.callers import signed_in
from careline.core.pagination import MAX_OFFSET
from careline.core.schemas import InSchema
from careline.oncall.models import Channel, DeliveryStatus, Notification
from careline.oncall.services import delivery

router = Router(tags=["on-call"])


class NotificationFilter(InSchema):
    status: DeliveryStatus | None = Field(None, description="dead: the dead-letter list")
    channel: Channel | None = None
    page: int | None = Field(None, ge=1, le=2**62, description="id of the page it belongs to")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class NotificationOut(Schema):
    id: int
    channel: Channel
    to: str = Field(description="address, number or handle; for a target, its code")
    target: str | None = Field(description="code of the delivery target, if any")
    subject: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str = Field(description="the last failure, in the receiver's words")
    idempotency_key: str
    page: int | None
    page_level: int | None
    recipient: str | None = Field(description="username of the person it was for")
    object_type: str
    object_id: str
    created_at: datetime
    sent_at: datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    count: int


def notification_out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "channel": n.channel,
        "to": n.to,
        "target": n.target.code if n.target is not None else None,
        "subject": n.subject,
        "status": n.status,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at,
        "last_error": n.last_error,
        "idempotency_key": n.idempotency_key,
        "page": n.page_id,
        "page_level": n.page_level,
        "recipient": n.recipient.username if n.recipient is not None else None,
        "object_type": n.object_type,
        "object_id": n.object_id,
        "created_at": n.created_at,
        "sent_at": n.sent_at,
    }


@router.get(
    "/notifications",
    response=NotificationPage,
    summary="Outbox messages, newest first (status=dead: the dead-letter list)",
)
def list_notifications(request: HttpRequest, filters: Query[NotificationFilter]) -> dict[str, Any]:
    rows = delivery.notifications(
        signed_in(request), status=filters.status, channel=filters.channel, page=filters.page
    )
    chosen = rows[filters.offset : filters.offset + filters.limit]
    return {"items": [notification_out(n) for n in chosen], "count": rows.count()}


@router.post(
    "/notifications/{notification_id}/retry",
    response=NotificationOut,
    summary="Send a dead or cancelled message again (409 for any other)",
)
def retry_notification(request: HttpRequest, notification_id: int) -> dict[str, Any]:
    notification = delivery.retry(signed_in(request), notification_id)
    return notification_out(delivery.notifications(signed_in(request)).get(pk=notification.pk))
