"""Creating and changing tickets: every change in one transaction, with its audit event."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from careline.core import audit, inserts
from careline.core.cached import cached
from careline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import User
from careline.core.numbers import take_next
from careline.core.permissions import Perm, require
from careline.core.services import department_by_code, service_by_code
from careline.oncall import outbox
from careline.servicedesk import phi
from careline.servicedesk.choices import NUMBER_PREFIX, CareEffect, Kind, Priority, Scope, Via
from careline.servicedesk.models import Ticket, TicketCounter
from careline.servicedesk.models.tickets import STAFF_ROLES
from careline.servicedesk.services import notify, oncall, routing, sla
from careline.servicedesk.services.triage import TriageInput, triage

TICKET_FIELDS = [
    "number",
    "kind",
    "title",
    "department_id",
    "service_id",
    "care_effect",
    "scope",
    "priority",
    "priority_reason",
    "status",
    "queue_id",
    "assignee_id",
    "respond_by",
    "resolve_by",
    "version",
]


def is_staff(user: User) -> bool:
    return user.role in STAFF_ROLES


def require_staff(user: User, what: str) -> None:
    if not is_staff(user):
        raise Forbidden(f"the {user.role} role may not {what}")


def require_writer(user: User, what: str) -> None:
    """Staff who may change tickets: an auditor reads but changes nothing."""
    require_staff(user, what)
    if user.role == "auditor":
        raise Forbidden(f"the auditor role may not {what}")


def choice(value: str, choices: type[Any], field_name: str) -> str:
    if value not in choices.values:
        allowed = ", ".join(str(v) for v in choices.values)
        raise InvalidInput(f"must be one of {allowed} (got {str(value)[:40]!r})", field=field_name)
    return value


def clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("must not be empty", field="title")
    if len(title) > settings.MAX_TITLE_LENGTH:
        raise InvalidInput(
            f"must be at most {settings.MAX_TITLE_LENGTH} characters (got {len(title)})",
            field="title",
        )
    return title


def clean_description(description: str) -> str:
    if len(description) > settings.MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"must be at most {settings.MAX_DESCRIPTION_LENGTH} characters (got {len(description)})",
            field="description",
        )
    return description.strip()


M = TypeVar("M")
# Departments and services read on every new ticket; an edit reaches every worker within this.
HOT_LOOKUP_SECONDS = 60


def _hot_lookup(key: str, find: Callable[[], M]) -> M:
    """A place found by code, kept briefly per process; an unknown code is never kept
    (`find` raises NotFound)."""
    return cached(key, find, HOT_LOOKUP_SECONDS)


def next_number(kind: str) -> str:
    """INC-000123, from the kind's counter row (see `create_ticket` for when it is taken)."""
    return f"{NUMBER_PREFIX[Kind(kind)]}-{take_next(TicketCounter, 'kind', kind):06d}"


def apply_triage(ticket: Ticket) -> bool:
    """Recompute the priority from the ticket's inputs; True when it changed.

    An agent's override stands until the agent clears it.
    """
    if ticket.priority_override_reason:
        return False
    department = ticket.department
    service = ticket.service
    result = triage(
        TriageInput(
            care_effect=ticket.care_effect,
            scope=ticket.scope,
            critical_area=department.critical,
            area_label=department.clinical_area,
            service_tier=service.tier if service else None,
            service_name=service.name if service else "",
            kind=ticket.kind,
            phi_breach_suspected=ticket.phi_breach_suspected,
        )
    )
    changed = ticket.priority != result.priority
    ticket.priority = result.priority
    ticket.priority_reason = result.reason
    return changed


@dataclass
class TicketDraft:
    """What a requester (or an email, or the API) says about a problem."""

    kind: str
    title: str
    description: str
    department: str
    care_effect: str
    scope: str
    service: str | None = None
    phi_breach_suspected: bool = False
    via: str = Via.WEB
    message_id: str = ""  # the email that opened it, if one did
    watchers: list[User] = field(default_factory=list)
    # Urgent tickets page the on-call engineer; a caller that pages by itself (monitoring,
    # which groups by root cause) says False.
    page: bool = True


def create_ticket(actor: User, draft: TicketDraft, *, requester: User | None = None) -> Ticket:
    """Open a ticket: triage, number, SLA clocks, queue and assignee, audit event."""
    if requester is not None and requester != actor:
        require_writer(actor, "open tickets for someone else")
    require(actor, Perm.TICKETS_OPEN)
    kind = choice(draft.kind, Kind, "kind")
    if draft.phi_breach_suspected and kind != Kind.SECURITY:
        raise InvalidInput(
            "applies to security incidents only (kind 'security')", field="phi_breach_suspected"
        )
    now = timezone.now()
    department = _hot_lookup(
        f"department:{draft.department}", lambda: department_by_code(draft.department)
    )
    ticket = Ticket(
        kind=kind,
        title=clean_title(draft.title),
        description=clean_description(draft.description),
        requester=requester or actor,
        department=department,
        site=department.site,
        service=_hot_lookup(
            f"service:{draft.service}", lambda: service_by_code(draft.service or "")
        )
        if draft.service
        else None,
        care_effect=choice(draft.care_effect, CareEffect, "care_effect"),
        scope=choice(draft.scope, Scope, "scope"),
        phi_breach_suspected=draft.phi_breach_suspected,
        via=draft.via,
        message_id=draft.message_id[:300],
        created_at=now,
        updated_at=now,
    )
    ticket.phi_flagged = bool(phi.scan(ticket.title, ticket.description))
    apply_triage(ticket)
    sla.start_clocks(ticket, now)
    ticket.queue = routing.route(ticket)
    # PostgreSQL runs writers side by side, and a row lock lasts to the end of its transaction:
    # taking the number (the kind's counter row) and the assignee (the queue's round-robin
    # pointer) inside the ticket's transaction made every new ticket wait for the whole of the
    # one before. There they are taken first, each in one short statement, and a ticket whose
    # transaction then fails leaves its number unused. SQLite writes one transaction at a time
    # anyway, and takes them inside, so its numbers have no gaps.
    early = connection.vendor == "postgresql"
    if early:
        _number_and_assignee(ticket)
    with transaction.atomic(), audit.batch():
        if not early:
            _number_and_assignee(ticket)
        inserts.insert_one(ticket)
        if draft.watchers:
            ticket.watchers.add(*draft.watchers)
        with outbox.batch():
            notify.ticket_created(ticket)
            if ticket.assignee is not None:
                notify.assigned(ticket)
        if draft.page:
            # Last but for the audit events: a storm's page is share-locked from here to the
            # commit (an acknowledgement or resolution waits, other reports do not).
            oncall.page_for_ticket(ticket)
        audit.record(
            "ticket.create",
            actor=actor,
            obj=ticket,
            summary=f"{ticket.number} opened as {ticket.priority}: {ticket.priority_reason}",
            after=audit.snapshot(ticket, TICKET_FIELDS),
        )
    return ticket


def _number_and_assignee(ticket: Ticket) -> None:
    ticket.number = next_number(ticket.kind)
    if ticket.queue is not None:
        ticket.assignee = routing.pick_assignee(ticket.queue)
        if ticket.assignee is not None:
            ticket.status = "assigned"


def get_visible(user: User, ticket_id: int, *, for_update: bool = False) -> Ticket:
    tickets = Ticket.objects.visible_to(user).select_related(
        "department",
        "department__site",
        "site",
        "service",
        "queue",
        "assignee",
        "requester",
        "config_item",
        "vendor",
    )
    if for_update:
        tickets = tickets.select_for_update(of=("self",))
    try:
        return tickets.get(pk=ticket_id)
    except Ticket.DoesNotExist:
        # The same answer whether it does not exist or is not theirs to see.
        raise NotFound(f"no ticket {ticket_id} that you may see", field="id") from None


@contextmanager
def changing(actor: User, ticket_id: int, version: int | None, action: str) -> Iterator[Ticket]:
    """Lock a ticket for a change, refuse a stale version, and save it with version + 1.

    The caller mutates the yielded ticket and records its own audit event inside the block;
    the events are appended after the ticket is saved.
    """
    with transaction.atomic(), audit.batch():
        ticket = get_visible(actor, ticket_id, for_update=True)
        if version is not None and version != ticket.version:
            raise Conflict(
                f"ticket {ticket.number} changed since you read it (your version {version}, now {ticket.version}); "
                "reload and try again",
                field="version",
            )
        yield ticket
        ticket.version += 1
        ticket.updated_at = timezone.now()
        ticket.save()


EDITABLE = (
    "title",
    "description",
    "department",
    "service",
    "care_effect",
    "scope",
    "phi_breach_suspected",
)


def update_ticket(actor: User, ticket_id: int, version: int, changes: dict[str, Any]) -> Ticket:
    """Change a ticket's fields; the priority follows its inputs."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(
            f"cannot be changed here (editable: {', '.join(EDITABLE)})", field=sorted(unknown)[0]
        )
    with changing(actor, ticket_id, version, "update") as ticket:
        if not is_staff(actor) and ticket.requester_id != actor.pk:
            raise Forbidden("only the requester or IT staff may change this ticket")
        if actor.role == "auditor":
            raise Forbidden("the auditor role may not change tickets")
        if not ticket.is_open:
            raise Conflict(
                f"ticket {ticket.number} is {ticket.status}; reopen it to change it", field="status"
            )
        before = audit.snapshot(ticket, [*TICKET_FIELDS, "phi_breach_suspected"])
        if "title" in changes:
            ticket.title = clean_title(changes["title"])
        if "description" in changes:
            ticket.description = clean_description(changes["description"])
        if "department" in changes:
            ticket.department = department_by_code(changes["department"])
            ticket.site = ticket.department.site
        if "service" in changes:
            ticket.service = service_by_code(changes["service"]) if changes["service"] else None
        if "care_effect" in changes:
            ticket.care_effect = choice(changes["care_effect"], CareEffect, "care_effect")
        if "scope" in changes:
            ticket.scope = choice(changes["scope"], Scope, "scope")
        if "phi_breach_suspected" in changes:
            if changes["phi_breach_suspected"] and ticket.kind != Kind.SECURITY:
                raise InvalidInput(
                    "applies to security incidents only (kind 'security')",
                    field="phi_breach_suspected",
                )
            ticket.phi_breach_suspected = bool(changes["phi_breach_suspected"])
        ticket.phi_flagged = bool(phi.scan(ticket.title, ticket.description))
        if apply_triage(ticket):
            _restart_clocks(ticket)
            page_if_now_urgent(ticket, before["priority"])
        audit.record(
            "ticket.update",
            actor=actor,
            obj=ticket,
            summary=f"{ticket.number} changed: {', '.join(sorted(changes))}",
            before=before,
            after=audit.snapshot(ticket, [*TICKET_FIELDS, "phi_breach_suspected"]),
        )
    return ticket


def page_if_now_urgent(ticket: Ticket, was: str) -> None:
    """A ticket that became P1 or P2 pages now, as if it had been urgent from the start."""
    if ticket.priority in oncall.URGENT and was not in oncall.URGENT:
        oncall.page_for_ticket(ticket)


def _restart_clocks(ticket: Ticket) -> None:
    """A new priority means new targets, counted from when the ticket was opened."""
    responded = ticket.responded_at
    sla.start_clocks(ticket, ticket.created_at)
    if responded is not None:
        ticket.response_result = "met" if responded <= ticket.respond_by else "breached"


def override_priority(
    actor: User, ticket_id: int, priority: str, reason: str, version: int | None = None
) -> Ticket:
    require_writer(actor, "override a ticket's priority")
    choice(priority, Priority, "priority")
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("a reason is required to override the computed priority", field="reason")
    if len(reason) > 300:
        raise InvalidInput(f"must be at most 300 characters (got {len(reason)})", field="reason")
    with changing(actor, ticket_id, version, "override") as ticket:
        before = {"priority": ticket.priority, "priority_reason": ticket.priority_reason}
        ticket.priority = priority
        ticket.priority_override_reason = reason
        ticket.priority_reason = f"Set to {priority} by {actor.display_name}: {reason}"
        _restart_clocks(ticket)
        page_if_now_urgent(ticket, before["priority"])
        audit.record(
            "ticket.priority_override",
            actor=actor,
            obj=ticket,
            summary=f"{ticket.number} priority {before['priority']} -> {priority}: {reason}",
            before=before,
            after={"priority": priority, "priority_reason": ticket.priority_reason},
        )
    return ticket


def record_view(actor: User, ticket: Ticket) -> None:
    """Who looked at which ticket: HIPAA's access log."""
    audit.record("ticket.view", actor=actor, obj=ticket, summary=f"{ticket.number} viewed")
