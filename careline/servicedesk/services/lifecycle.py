"""A ticket's life: status changes, assignment, replies and notes."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, Forbidden, InvalidInput
from careline.core.models import User
from careline.servicedesk.choices import (
    OPEN_STATUSES,
    BreachRisk,
    Kind,
    ResolutionCode,
    SecurityOutcome,
    Status,
    Via,
)
from careline.servicedesk.models import Comment, Queue, Ticket
from careline.servicedesk.services import notify, oncall, sla
from careline.servicedesk.services.tickets import changing, choice, is_staff, require_writer

# Which status may follow which. Closing is final; a resolved ticket is reopened to in progress.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset(
        {
            Status.ASSIGNED,
            Status.IN_PROGRESS,
            Status.WAITING_REQUESTER,
            Status.WAITING_VENDOR,
            Status.RESOLVED,
        }
    ),
    Status.ASSIGNED: frozenset(
        {
            Status.NEW,
            Status.IN_PROGRESS,
            Status.WAITING_REQUESTER,
            Status.WAITING_VENDOR,
            Status.RESOLVED,
        }
    ),
    Status.IN_PROGRESS: frozenset(
        {Status.ASSIGNED, Status.WAITING_REQUESTER, Status.WAITING_VENDOR, Status.RESOLVED}
    ),
    Status.WAITING_REQUESTER: frozenset(
        {Status.IN_PROGRESS, Status.ASSIGNED, Status.WAITING_VENDOR, Status.RESOLVED}
    ),
    Status.WAITING_VENDOR: frozenset(
        {Status.IN_PROGRESS, Status.ASSIGNED, Status.WAITING_REQUESTER, Status.RESOLVED}
    ),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset(),
}
# What a requester may do to their own ticket: confirm the fix, or say it is not fixed.
REQUESTER_TRANSITIONS = {(Status.RESOLVED, Status.CLOSED), (Status.RESOLVED, Status.IN_PROGRESS)}


def past_reopening(ticket: Ticket) -> bool:
    """Resolved longer ago than a ticket may be reopened (CARELINE_REOPEN_DAYS)."""
    return ticket.resolved_at is not None and (
        timezone.now() - ticket.resolved_at > timedelta(days=settings.REOPEN_DAYS)
    )


def _check_transition(ticket: Ticket, target: str) -> None:
    if target == ticket.status:
        raise Conflict(f"ticket {ticket.number} is already {target}", field="status")
    if target not in TRANSITIONS[Status(ticket.status)]:
        allowed = (
            ", ".join(sorted(TRANSITIONS[Status(ticket.status)])) or "nothing: closed is final"
        )
        raise Conflict(
            f"ticket {ticket.number} cannot go from {ticket.status} to {target} (allowed: {allowed})",
            field="status",
        )
    if ticket.status == Status.RESOLVED and target == Status.IN_PROGRESS and past_reopening(ticket):
        raise Conflict(
            f"ticket {ticket.number} was resolved more than {settings.REOPEN_DAYS} days ago; open a new ticket",
            field="status",
        )


def _check_resolution(ticket: Ticket, code: str, notes: str) -> None:
    choice(code, ResolutionCode, "resolution_code")
    if not notes.strip():
        raise InvalidInput(
            "say what was done: resolution notes are required to resolve", field="resolution_notes"
        )
    if ticket.kind == Kind.SECURITY:
        if not ticket.security_outcome:
            raise InvalidInput(
                "a security incident needs its outcome before it can be resolved",
                field="security_outcome",
            )
        if not ticket.breach_risk or not ticket.breach_assessment.strip():
            raise InvalidInput(
                "a security incident needs its breach-risk assessment before it can be resolved",
                field="breach_risk",
            )


def change_status(
    actor: User,
    ticket_id: int,
    status: str,
    *,
    version: int | None = None,
    resolution_code: str = "",
    resolution_notes: str = "",
) -> Ticket:
    target = choice(status, Status, "status")
    now = timezone.now()
    # One transaction around the change and what follows it once the ticket is saved.
    with transaction.atomic():
        with changing(actor, ticket_id, version, "status") as ticket:
            if not is_staff(actor):
                if (
                    ticket.requester_id != actor.pk
                    or (ticket.status, target) not in REQUESTER_TRANSITIONS
                ):
                    raise Forbidden(
                        "a requester may only confirm a resolution (closed) or reopen (in_progress)"
                    )
            elif actor.role == "auditor":
                raise Forbidden("the auditor role may not change tickets")
            _check_transition(ticket, target)
            before = {"status": ticket.status}
            if target == Status.RESOLVED:
                _check_resolution(ticket, resolution_code, resolution_notes)
                ticket.resolution_code = resolution_code
                ticket.resolution_notes = resolution_notes.strip()
            if ticket.status == Status.WAITING_REQUESTER:
                sla.resume(ticket, now)
            if target == Status.WAITING_REQUESTER:
                sla.pause(ticket, now)
            if (
                target == Status.IN_PROGRESS
                and is_staff(actor)
                and ticket.status != Status.RESOLVED
            ):
                sla.record_response(
                    ticket, now
                )  # an agent taking the ticket on is its first response
            if target == Status.RESOLVED:
                sla.record_response(ticket, now)
                sla.record_resolution(ticket, now)
            if ticket.status == Status.RESOLVED and target == Status.IN_PROGRESS:
                sla.reopen(ticket, now)
                ticket.reopened_count += 1
            if target == Status.CLOSED:
                ticket.closed_at = now
            ticket.status = target
            summary = f"{ticket.number} {before['status']} -> {target}"
            if target == Status.RESOLVED:
                summary += f" ({resolution_code}, SLA {ticket.resolution_result})"
            audit.record(
                "ticket.status",
                actor=actor,
                obj=ticket,
                summary=summary,
                before=before,
                after={"status": target},
            )
            if target == Status.RESOLVED:
                notify.resolved(ticket)
            if target == Status.RESOLVED and ticket.is_major:
                _resolve_children(actor, ticket, resolution_code, resolution_notes, now)
        if target in (Status.RESOLVED, Status.CLOSED):
            # The ticket (and any children) are saved: a page whose incidents are all done ends.
            done = [ticket.pk]
            if ticket.is_major:
                done += list(ticket.children.values_list("pk", flat=True))
            oncall.tickets_resolved(done)
    return ticket


def _resolve_children(actor: User, major: Ticket, code: str, notes: str, now: datetime) -> None:
    """Children of a major incident follow its resolution; each requester hears once."""
    for child in major.children.select_for_update().filter(status__in=list(OPEN_STATUSES)):
        child.status = Status.RESOLVED
        child.resolution_code = code
        child.resolution_notes = f"Resolved with major incident {major.number}: {notes.strip()}"
        sla.record_response(child, now)
        sla.record_resolution(child, now)
        child.version += 1
        child.updated_at = now
        child.save()
        audit.record(
            "ticket.status",
            actor=actor,
            obj=child,
            summary=f"{child.number} resolved with major incident {major.number}",
            after={"status": Status.RESOLVED, "parent": major.number},
        )


def assign(
    actor: User,
    ticket_id: int,
    *,
    assignee: User | None,
    queue: Queue | None = None,
    version: int | None = None,
) -> Ticket:
    require_writer(actor, "assign tickets")
    if assignee is not None and (
        not is_staff(assignee) or assignee.role == "auditor" or not assignee.is_active
    ):
        raise InvalidInput(
            f"{assignee.username} is not IT staff who can work tickets", field="assignee"
        )
    now = timezone.now()
    with changing(actor, ticket_id, version, "assign") as ticket:
        if not ticket.is_open:
            raise Conflict(
                f"ticket {ticket.number} is {ticket.status}; reopen it to reassign it",
                field="status",
            )
        before = {
            "assignee": ticket.assignee.username if ticket.assignee else None,
            "queue": ticket.queue.code if ticket.queue else None,
        }
        if queue is not None:
            ticket.queue = queue
        ticket.assignee = assignee
        if assignee is not None and ticket.status == Status.NEW:
            ticket.status = Status.ASSIGNED
        if assignee is None and ticket.status == Status.ASSIGNED:
            ticket.status = Status.NEW
        if assignee is not None and assignee == actor:
            sla.record_response(ticket, now)  # taking a ticket yourself is accepting it
        if assignee is not None and assignee != actor:
            notify.assigned(ticket)
        after = {
            "assignee": assignee.username if assignee else None,
            "queue": ticket.queue.code if ticket.queue else None,
        }
        audit.record(
            "ticket.assign",
            actor=actor,
            obj=ticket,
            before=before,
            after=after,
            summary=f"{ticket.number} assigned to {after['assignee'] or 'nobody'} in {after['queue'] or 'no queue'}",
        )
    return ticket


def add_comment(
    actor: User,
    ticket_id: int,
    body: str,
    *,
    public: bool = True,
    minutes_spent: int = 0,
    via: str = Via.WEB,
    message_id: str = "",
) -> Comment:
    body = body.strip()
    if not body:
        raise InvalidInput("must not be empty", field="body")
    if len(body) > settings.MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"must be at most {settings.MAX_DESCRIPTION_LENGTH} characters (got {len(body)})",
            field="body",
        )
    if minutes_spent < 0 or minutes_spent > 24 * 60:
        raise InvalidInput(
            f"must be between 0 and 1440 (got {minutes_spent})", field="minutes_spent"
        )
    staff = is_staff(actor)
    if not public and not staff:
        raise Forbidden("only IT staff may write internal notes")
    if actor.role == "auditor":
        raise Forbidden("the auditor role may not comment")
    if minutes_spent and not staff:
        raise InvalidInput("only IT staff record time worked", field="minutes_spent")
    now = timezone.now()
    with changing(actor, ticket_id, None, "comment") as ticket:
        if ticket.status == Status.CLOSED:
            raise Conflict(f"ticket {ticket.number} is closed; open a new ticket", field="status")
        comment = Comment.objects.create(
            ticket=ticket,
            author=actor,
            author_name=actor.display_name,
            body=body,
            public=public,
            minutes_spent=minutes_spent,
            via=via,
            message_id=message_id[:300],
            created_at=now,
        )
        ticket.time_worked_minutes += minutes_spent
        if staff and public:
            sla.record_response(ticket, now)
        after: dict[str, object] = {"comment_id": comment.pk, "via": via}
        if not staff and ticket.status == Status.WAITING_REQUESTER:
            # The requester answered: the ball is back with IT and the clock runs again.
            sla.resume(ticket, now)
            ticket.status = Status.IN_PROGRESS
            after["status"] = Status.IN_PROGRESS
        notify.comment_posted(ticket, comment)
        audit.record(
            "ticket.comment" if public else "ticket.note",
            actor=actor,
            obj=ticket,
            summary=f"{'Reply' if public else 'Internal note'} on {ticket.number}"
            + (f", {minutes_spent} min worked" if minutes_spent else ""),
            after=after,
        )
    return comment


def set_security_assessment(
    actor: User,
    ticket_id: int,
    *,
    outcome: str,
    breach_risk: str,
    assessment: str,
    version: int | None = None,
) -> Ticket:
    require_writer(actor, "assess security incidents")
    choice(outcome, SecurityOutcome, "security_outcome")
    choice(breach_risk, BreachRisk, "breach_risk")
    if not assessment.strip():
        raise InvalidInput(
            "describe the assessment (nature of the PHI, who saw it, whether acquired, mitigation)",
            field="breach_assessment",
        )
    with changing(actor, ticket_id, version, "security") as ticket:
        if ticket.kind != Kind.SECURITY:
            raise InvalidInput("only security incidents carry a breach assessment", field="kind")
        ticket.security_outcome = outcome
        ticket.breach_risk = breach_risk
        ticket.breach_assessment = assessment.strip()
        audit.record(
            "ticket.security_assessment",
            actor=actor,
            obj=ticket,
            summary=f"{ticket.number} assessed: {outcome}, breach risk {breach_risk}",
            after={"security_outcome": outcome, "breach_risk": breach_risk},
        )
    return ticket
