"""Answering pages: escalation when nobody does, acknowledgement and resolution when someone does.

The escalation loop claims each due page with a conditional UPDATE, so several engines (or an
acknowledgement arriving in the same instant) never move a page twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, NotFound
from careline.core.models import User
from careline.oncall import outbox
from careline.oncall.models import EscalationPolicy, Page, PageItem, PageStatus
from careline.oncall.services.paging import OPEN, levels_of, notify_level, send

log = logging.getLogger("careline.paging")


def escalate_due(now: datetime | None = None, limit: int = 100) -> int:
    """Move every unacknowledged page whose wait has run out to its next level."""
    now = now or timezone.now()
    due = list(
        Page.objects.filter(status=PageStatus.TRIGGERED, next_escalation_at__lte=now)
        .order_by("next_escalation_at")
        .values_list("pk", "next_escalation_at")[:limit]
    )
    moved = 0
    for pk, deadline in due:
        with transaction.atomic():
            # The conditional UPDATE is the claim: another engine, or an acknowledgement that
            # landed meanwhile, leaves nothing to match.
            claimed = Page.objects.filter(
                pk=pk, status=PageStatus.TRIGGERED, next_escalation_at=deadline
            ).update(next_escalation_at=None)
            if not claimed:
                continue
            target = Page.objects.select_related("current_policy", "service").get(pk=pk)
            _advance(target, now)
            target.save()
            moved += 1
    return moved


def _advance(target: Page, now: datetime) -> None:
    policy = target.current_policy
    levels = levels_of(policy) if policy is not None else []
    target.level += 1
    if target.level < len(levels):
        notify_level(target, now)
        return
    if policy is not None and target.round < policy.repeat:
        target.round += 1
        target.level = 0
        notify_level(target, now)
        return
    _exhausted(target, policy, now)


def _exhausted(target: Page, policy: EscalationPolicy | None, now: datetime) -> None:
    """Every level and repeat went unanswered: the IT manager hears of it, once."""
    target.next_escalation_at = None
    final = policy.final_user if policy is not None else None
    if final is None and settings.ONCALL_FINAL_USERNAME:
        final = User.objects.filter(username=settings.ONCALL_FINAL_USERNAME, is_active=True).first()
    if final is None:
        audit.record(
            "oncall.exhausted",
            obj=target,
            summary=f"page {target.pk}: nobody acknowledged after every level; no manager is named to tell",
        )
        return
    sent = send(target, [final], (), level=target.level, now=now, hold_until=None)
    audit.record(
        "oncall.exhausted",
        obj=target,
        summary=f"page {target.pk}: nobody acknowledged after every level; told {'; '.join(sent)}",
    )


def get_page(page_id: int) -> Page:
    try:
        return Page.objects.select_related(
            "service", "policy", "current_policy", "acknowledged_by", "resolved_by"
        ).get(pk=page_id)
    except Page.DoesNotExist:
        raise NotFound(f"no page {page_id}", field="id") from None


def acknowledge(page_id: int, actor: User, *, via: str) -> Page:
    """Someone is on it: escalation stops and delayed steps are cancelled. Acknowledging an
    acknowledged page again changes nothing; a resolved one is a conflict."""
    now = timezone.now()
    with transaction.atomic():
        target = get_page(page_id)
        if target.status == PageStatus.RESOLVED:
            raise Conflict(f"page {page_id} is already resolved", field="status")
        if target.status == PageStatus.ACKNOWLEDGED:
            return target
        updated = Page.objects.filter(pk=page_id, status=PageStatus.TRIGGERED).update(
            status=PageStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=actor,
            next_escalation_at=None,
        )
        if not updated:  # answered by someone else a moment ago
            return get_page(page_id)
        cancelled = outbox.cancel_for_page(page_id)
        audit.record(
            "oncall.acknowledged",
            actor=actor,
            obj=target,
            summary=f"page {page_id} acknowledged by {actor.username} via {via}"
            + (f"; {cancelled} waiting messages cancelled" if cancelled else ""),
            after={"via": via},
        )
    return get_page(page_id)


def resolve(page_id: int, actor: User | None, *, via: str) -> Page:
    """The problem is over: paging stops for good. The tickets keep their own lifecycle."""
    now = timezone.now()
    with transaction.atomic():
        target = get_page(page_id)
        if target.status == PageStatus.RESOLVED:
            return target
        Page.objects.filter(pk=page_id).update(
            status=PageStatus.RESOLVED,
            resolved_at=now,
            resolved_by=actor,
            next_escalation_at=None,
            acknowledged_at=target.acknowledged_at or now,
            acknowledged_by=target.acknowledged_by or actor,
        )
        cancelled = outbox.cancel_for_page(page_id)
        who = actor.username if actor is not None else "CareLine"
        audit.record(
            "oncall.resolved",
            actor=actor,
            obj=target,
            summary=f"page {page_id} resolved by {who} via {via}"
            + (f"; {cancelled} waiting messages cancelled" if cancelled else ""),
            after={"via": via},
        )
    return get_page(page_id)


def tickets_resolved(ticket_ids: Sequence[int]) -> int:
    """The service desk resolved these tickets: a page whose every incident is resolved is
    resolved too. Returns how many pages were."""
    pages = set(
        PageItem.objects.filter(ticket_id__in=ticket_ids, page__status__in=OPEN).values_list(
            "page_id", flat=True
        )
    )
    done = 0
    for page_id in sorted(pages):
        still_open = PageItem.objects.filter(page_id=page_id, ticket__isnull=False).exclude(
            ticket__status__in=["resolved", "closed"]
        )
        if not still_open.exists():
            resolve(page_id, None, via="ticket resolved")
            done += 1
    return done
