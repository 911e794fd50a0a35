"""The SLA watcher: an engine loop that warns at 75 % of a target and escalates at breach.

Each ticket is warned and escalated once per target: the conditional UPDATE that marks it
is the claim (a second engine, or the next tick, finds it already marked), and the outbox's
idempotency keys make the emails once-only as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from careline.core import audit
from careline.core.links import absolute_url
from careline.core.models import User
from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.oncall.outbox import Email, enqueue_email
from careline.oncall.services import paging
from careline.servicedesk.choices import OPEN_STATUSES, SlaResult
from careline.servicedesk.models import QueueMember, Ticket
from careline.servicedesk.services import oncall as desk_oncall

log = logging.getLogger("careline.sla")
BATCH = 200


def _running() -> QuerySet[Ticket]:
    return Ticket.objects.filter(status__in=sorted(OPEN_STATUSES), sla_paused_at__isnull=True)


def _people_to_warn(ticket: Ticket) -> list[User]:
    people: list[User] = [ticket.assignee] if ticket.assignee else []
    if ticket.queue_id is not None:
        people += [
            m.user
            for m in QueueMember.objects.filter(
                queue_id=ticket.queue_id, on_shift=True, user__is_active=True
            ).select_related("user")
        ]
    unique = {p.pk: p for p in people}
    return list(unique.values())


def _email(person: User, ticket: Ticket, subject: str, body: str, key: str) -> None:
    enqueue_email(
        Email(
            to=person.email,
            subject=f"[{ticket.number}] {subject}",
            body=f"{body}\n\n{absolute_url(f'/tickets/{ticket.pk}/')}",
            key=key,
            thread=ticket.number,
            about=ticket,
        )
    )


def _warn(ticket: Ticket, target: str, deadline: datetime) -> None:
    local = timezone.localtime(deadline, ticket.site.zone)
    subject = f"{target.capitalize()} due by {local:%H:%M}"
    body = f"75 % of the {target} time for {ticket.number} ({ticket.priority}) has gone. Due by {local:%H:%M %a %d %b}."
    people = _people_to_warn(ticket)
    if ticket.priority in desk_oncall.URGENT:
        # An urgent ticket's warning reaches people the way they asked to be reached for it
        # (a text at night rather than an unread email).
        paging.notify_people(
            people,
            priority=ticket.priority,
            subject=f"[{ticket.number}] {subject}",
            body=f"{body}\n\n{absolute_url(f'/tickets/{ticket.pk}/')}",
            key=f"ticket:{ticket.pk}:warn:{target}:{deadline.isoformat()}",
            about=ticket,
        )
    else:
        for person in people:
            _email(
                person,
                ticket,
                subject,
                body,
                f"ticket:{ticket.pk}:warn:{target}:{deadline.isoformat()}:{person.pk}",
            )
    audit.record(
        "ticket.sla_warning",
        obj=ticket,
        summary=f"{ticket.number} {target} at 75 % (due {local:%H:%M})",
    )


def _breach(ticket: Ticket, target: str, deadline: datetime) -> None:
    manager = ticket.queue.manager if ticket.queue else None
    recipients = [manager] if manager else _people_to_warn(ticket)
    for person in recipients:
        _email(
            person,
            ticket,
            f"BREACHED {target} target ({ticket.priority})",
            f"{ticket.number} missed its {target} target ({ticket.priority}: {ticket.priority_reason}). "
            f"Assignee: {ticket.assignee.display_name if ticket.assignee else 'nobody'}.",
            f"ticket:{ticket.pk}:breach:{target}:{person.pk}",
        )
    # An urgent ticket's breach also pages through on-call escalation until someone answers.
    desk_oncall.page_for_breach(ticket, target)
    audit.record(
        "ticket.sla_breach",
        obj=ticket,
        summary=f"{ticket.number} breached its {target} target; escalated to {manager.username if manager else 'the queue'}",
    )


@dataclass(frozen=True)
class Check:
    """One thing the watcher looks for: which tickets are due, how one is claimed, what follows."""

    count_as: str
    target: str  # "response" or "resolution"
    deadline_field: str  # the deadline the message names
    due: Callable[[datetime], Q]
    claim: Callable[[datetime], tuple[Q, dict[str, object]]]  # (still unclaimed, the marking)
    act: Callable[[Ticket, str, datetime], None]


CHECKS = (
    Check(
        "response_warnings",
        "response",
        "respond_by",
        due=lambda now: Q(
            response_result=SlaResult.PENDING,
            response_warned_at__isnull=True,
            respond_warn_at__lte=now,
        ),
        claim=lambda now: (Q(response_warned_at__isnull=True), {"response_warned_at": now}),
        act=lambda ticket, target, deadline: _warn(ticket, target, deadline),
    ),
    Check(
        "resolution_warnings",
        "resolution",
        "resolve_by",
        due=lambda now: Q(
            resolution_result=SlaResult.PENDING,
            resolution_warned_at__isnull=True,
            resolve_warn_at__lte=now,
        ),
        claim=lambda now: (Q(resolution_warned_at__isnull=True), {"resolution_warned_at": now}),
        act=lambda ticket, target, deadline: _warn(ticket, target, deadline),
    ),
    Check(
        "response_breaches",
        "response",
        "respond_by",
        due=lambda now: Q(response_result=SlaResult.PENDING, respond_by__lte=now),
        claim=lambda now: (
            Q(response_result=SlaResult.PENDING),
            {"response_result": SlaResult.BREACHED},
        ),
        act=lambda ticket, target, deadline: _breach(ticket, target, deadline),
    ),
    Check(
        "resolution_breaches",
        "resolution",
        "resolve_by",
        due=lambda now: Q(resolution_result=SlaResult.PENDING, resolve_by__lte=now),
        claim=lambda now: (
            Q(resolution_result=SlaResult.PENDING),
            {"resolution_result": SlaResult.BREACHED, "breach_escalated_at": now},
        ),
        act=lambda ticket, target, deadline: _breach(ticket, target, deadline),
    ),
)


def sweep(now: datetime) -> dict[str, int]:
    """One pass over what is due; returns counts by kind for the log."""
    counts = dict.fromkeys((check.count_as for check in CHECKS), 0)
    related = ("site", "queue", "queue__manager", "assignee")
    for check in CHECKS:
        unclaimed, marking = check.claim(now)
        for ticket in _running().filter(check.due(now)).select_related(*related)[:BATCH]:
            with transaction.atomic():
                # The conditional UPDATE is the claim: another engine, or the next tick,
                # finds the ticket already marked.
                if Ticket.objects.filter(unclaimed, pk=ticket.pk).update(**marking):
                    check.act(ticket, check.target, getattr(ticket, check.deadline_field))
                    counts[check.count_as] += 1
    if any(counts.values()):
        log.info("sla sweep %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


async def _tick() -> None:
    await db(sweep, timezone.now())


def register() -> None:
    register_loop(LoopSpec("sla-watch", interval_s=settings.SLA_WATCH_INTERVAL_SECONDS, tick=_tick))
