"""On-call API: pages: list, read, acknowledge, resolve, and paging a team by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from careline.core.callers import signed_in
from careline.core.errors import NotFound
from careline.core.models import ClinicalService
from careline.core.pagination import MAX_OFFSET
from careline.core.permissions import Perm, require
from careline.core.schemas import InSchema
from careline.oncall.models import Notification, Page, PageStatus
from careline.oncall.models.pages import with_counts
from careline.oncall.services import answers, paging

router = Router(tags=["on-call"])


class PageItemOut(Schema):
    title: str
    url: str
    ticket_id: int | None
    created_at: datetime


class DeliveryOut(Schema):
    id: int
    recipient: str | None
    channel: str
    status: str
    level: int | None
    due_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str


class PageOut(Schema):
    id: int
    title: str
    priority: str
    source: str
    status: PageStatus
    service: str | None
    policy: str | None
    urgency: str
    level: int = Field(description="the escalation level reached, from 1")
    round: int = Field(description="how many times the policy has run, from 1")
    next_escalation_at: datetime | None
    incident_count: int
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class PageDetailOut(PageOut):
    items: list[PageItemOut]
    deliveries: list[DeliveryOut]


class PageList(Schema):
    items: list[PageOut]
    count: int


def page_out(target: Page) -> dict[str, Any]:
    return {
        "id": target.pk,
        "title": target.title,
        "priority": target.priority,
        "source": target.source,
        "status": target.status,
        "service": target.service.code if target.service else None,
        "policy": target.policy.code if target.policy else None,
        "urgency": target.urgency,
        "level": target.level + 1,
        "round": target.round + 1,
        "next_escalation_at": target.next_escalation_at,
        "incident_count": target.incident_count,
        "created_at": target.created_at,
        "acknowledged_at": target.acknowledged_at,
        "acknowledged_by": target.acknowledged_by.username if target.acknowledged_by else None,
        "resolved_at": target.resolved_at,
        "resolved_by": target.resolved_by.username if target.resolved_by else None,
    }


def detail_out(target: Page) -> dict[str, Any]:
    deliveries = (
        Notification.objects.filter(page=target).select_related("recipient").order_by("id")[:500]
    )
    return {
        **page_out(target),
        "items": [
            {"title": i.title, "url": i.url, "ticket_id": i.ticket_id, "created_at": i.created_at}
            for i in target.items.order_by("created_at", "id")
        ],
        "deliveries": [
            {
                "id": n.pk,
                "recipient": n.recipient.username if n.recipient else None,
                "channel": n.channel,
                "status": n.status,
                "level": n.page_level + 1 if n.page_level is not None else None,
                "due_at": n.next_attempt_at,
                "sent_at": n.sent_at,
                "attempts": n.attempts,
                "last_error": n.last_error,
            }
            for n in deliveries
        ],
    }


class PageFilter(InSchema):
    status: PageStatus | Literal["open"] | None = Field(
        None, description="triggered, acknowledged, resolved, or open (not resolved)"
    )
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get("/oncall/pages", response=PageList, summary="Pages, newest first")
def list_pages(request: HttpRequest, filters: Query[PageFilter]) -> dict[str, Any]:
    require(signed_in(request), Perm.ONCALL_VIEW)
    rows = Page.objects.select_related("service", "policy", "acknowledged_by", "resolved_by")
    if filters.status == "open":
        rows = rows.filter(status__in=paging.OPEN)
    elif filters.status is not None:
        rows = rows.filter(status=filters.status)
    chosen = with_counts(rows.order_by("-created_at", "-id"))[
        filters.offset : filters.offset + filters.limit
    ]
    return {"items": [page_out(p) for p in chosen], "count": rows.count()}


@router.get(
    "/oncall/pages/{page_id}",
    response=PageDetailOut,
    summary="One page: its incidents and every message sent for it",
)
def get_page(request: HttpRequest, page_id: int) -> dict[str, Any]:
    require(signed_in(request), Perm.ONCALL_VIEW)
    return detail_out(answers.get_page(page_id))


@router.post(
    "/oncall/pages/{page_id}/acknowledge",
    response=PageOut,
    summary="Acknowledge: escalation stops and waiting messages are cancelled",
)
def acknowledge(request: HttpRequest, page_id: int) -> dict[str, Any]:
    user = signed_in(request)
    require(user, Perm.ONCALL_RESPOND)
    return page_out(answers.acknowledge(page_id, user, via="api"))


@router.post("/oncall/pages/{page_id}/resolve", response=PageOut, summary="Resolve a page")
def resolve(request: HttpRequest, page_id: int) -> dict[str, Any]:
    user = signed_in(request)
    require(user, Perm.ONCALL_RESPOND)
    return page_out(answers.resolve(page_id, user, via="api"))


class ManualPageIn(InSchema):
    title: str = Field(min_length=1, max_length=300)
    summary: str = Field("", max_length=2000)
    priority: Literal["P1", "P2", "P3", "P4"] = "P2"
    policy: str = Field(min_length=1, max_length=32, description="escalation policy code")
    service: str | None = Field(None, max_length=32, description="clinical service code")


@router.post("/oncall/pages", response={201: PageOut}, summary="Page a team by hand")
def page_by_hand(request: HttpRequest, payload: ManualPageIn) -> Status[dict[str, Any]]:
    service = None
    if payload.service:
        service = ClinicalService.objects.filter(code=payload.service).first()
        if service is None:
            raise NotFound(f"no clinical service {payload.service!r}", field="service")
    opened = paging.page_by_hand(
        signed_in(request),
        title=payload.title.strip(),
        summary=payload.summary,
        priority=payload.priority,
        policy_code=payload.policy,
        service=service,
    )
    return Status(201, page_out(answers.get_page(opened.pk)))
