"""The SLA watcher: an engine loop that warns at 75 % of a target and escalates at breach.

Each ticket is warned and escalated once per target: the conditional UPDATE that marks it
is the claim (a second engine, or the next tick, finds it already marked), and the outbox's
idempotency keys make the emails once-only as well.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from careline.core import audit
from careline.core.links import absolute_url
from careline.core.models import User
from careline.engine.runner import LoopSpec, db
from careline.engine.runner import register as register_loop
from careline.oncall.outbox import Email, enqueue_email
from careline.servicedesk.choices import OPEN_STATUSES, SlaResult
from careline.servicedesk.models import QueueMember, Ticket

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
    for person in _people_to_warn(ticket):
        _email(
            person,
            ticket,
            f"{target.capitalize()} due by {local:%H:%M}",
            f"75 % of the {target} time for {ticket.number} ({ticket.priority}) has gone. Due by {local:%H:%M %a %d %b}.",
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
    audit.record(
        "ticket.sla_breach",
        obj=ticket,
        summary=f"{ticket.number} breached its {target} target; escalated to {manager.username if manager else 'the queue'}",
    )


def sweep(now: datetime) -> dict[str, int]:
    """One pass over what is due; returns counts by kind for the log."""
    counts = {
        "response_warnings": 0,
        "resolution_warnings": 0,
        "response_breaches": 0,
        "resolution_breaches": 0,
    }
    related = ("site", "queue", "queue__manager", "assignee")

    due = _running().filter(
        response_result=SlaResult.PENDING, response_warned_at__isnull=True, respond_warn_at__lte=now
    )
    for ticket in due.select_related(*related)[:BATCH]:
        with transaction.atomic():
            if Ticket.objects.filter(pk=ticket.pk, response_warned_at__isnull=True).update(
                response_warned_at=now
            ):
                _warn(ticket, "response", ticket.respond_by)
                counts["response_warnings"] += 1

    due = _running().filter(
        resolution_result=SlaResult.PENDING,
        resolution_warned_at__isnull=True,
        resolve_warn_at__lte=now,
    )
    for ticket in due.select_related(*related)[:BATCH]:
        with transaction.atomic():
            if Ticket.objects.filter(pk=ticket.pk, resolution_warned_at__isnull=True).update(
                resolution_warned_at=now
            ):
                _warn(ticket, "resolution", ticket.resolve_by)
                counts["resolution_warnings"] += 1

    due = _running().filter(response_result=SlaResult.PENDING, respond_by__lte=now)
    for ticket in due.select_related(*related)[:BATCH]:
        with transaction.atomic():
            if Ticket.objects.filter(pk=ticket.pk, response_result=SlaResult.PENDING).update(
                response_result=SlaResult.BREACHED
            ):
                _breach(ticket, "response", ticket.respond_by)
                counts["response_breaches"] += 1

    due = _running().filter(resolution_result=SlaResult.PENDING, resolve_by__lte=now)
    for ticket in due.select_related(*related)[:BATCH]:
        with transaction.atomic():
            if Ticket.objects.filter(pk=ticket.pk, resolution_result=SlaResult.PENDING).update(
                resolution_result=SlaResult.BREACHED, breach_escalated_at=now
            ):
                _breach(ticket, "resolution", ticket.resolve_by)
                counts["resolution_breaches"] += 1
    if any(counts.values()):
        log.info("sla sweep %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


async def _tick() -> None:
    await db(sweep, timezone.now())


def register() -> None:
    register_loop(LoopSpec("sla-watch", interval_s=settings.SLA_WATCH_INTERVAL_SECONDS, tick=_tick))
