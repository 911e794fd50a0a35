"""Tickets that belong together: duplicates, major incidents and their children, people affected."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, InvalidInput
from careline.core.models import User
from careline.servicedesk.choices import WIDE_SCOPES, Kind, LinkKind, ResolutionCode, Status
from careline.servicedesk.models import AffectedPerson, Ticket, TicketLink
from careline.servicedesk.services import sla
from careline.servicedesk.services.tickets import changing, choice, get_visible, require_writer


def link(actor: User, ticket_id: int, target_id: int, kind: str) -> TicketLink:
    require_writer(actor, "link tickets")
    choice(kind, LinkKind, "kind")
    if ticket_id == target_id:
        raise InvalidInput("a ticket cannot be linked to itself", field="target")
    with transaction.atomic():
        source = get_visible(actor, ticket_id, for_update=True)
        target = get_visible(actor, target_id)
        if kind == LinkKind.CHILD_OF:
            if not target.is_major:
                raise InvalidInput(
                    f"{target.number} is not a major incident; promote it first", field="target"
                )
            if source.is_major:
                raise InvalidInput(f"{source.number} is itself a major incident", field="id")
            source.parent = target
        if kind == LinkKind.DUPLICATE_OF:
            source.duplicate_of = target
        try:
            with transaction.atomic():
                created = TicketLink.objects.create(
                    source=source,
                    target=target,
                    kind=kind,
                    created_by=actor,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            raise Conflict(
                f"{source.number} is already linked to {target.number} as {kind}", field="target"
            ) from None
        source.version += 1
        source.save()
        audit.record(
            "ticket.link",
            actor=actor,
            obj=source,
            summary=f"{source.number} {LinkKind(kind).label.lower()} {target.number}",
            after={"target": target.number, "kind": kind},
        )
    return created


def merge_duplicate(actor: User, duplicate_id: int, into_id: int) -> Ticket:
    """Close a duplicate into the ticket that carries the work: its requester and watchers follow."""
    link(actor, duplicate_id, into_id, LinkKind.DUPLICATE_OF)
    now = timezone.now()
    with changing(actor, duplicate_id, None, "merge") as duplicate:
        into = get_visible(actor, into_id)
        if not duplicate.is_open:
            raise Conflict(f"{duplicate.number} is already {duplicate.status}", field="id")
        into.watchers.add(duplicate.requester, *duplicate.watchers.all())
        AffectedPerson.objects.get_or_create(
            ticket=into, user=duplicate.requester, defaults={"created_at": now}
        )
        duplicate.status = Status.RESOLVED
        duplicate.resolution_code = ResolutionCode.DUPLICATE
        duplicate.resolution_notes = f"Merged into {into.number}; follow that ticket for updates."
        sla.record_response(duplicate, now)
        sla.record_resolution(duplicate, now)
        audit.record(
            "ticket.merge",
            actor=actor,
            obj=duplicate,
            summary=f"{duplicate.number} merged into {into.number}",
            after={"into": into.number},
        )
    return duplicate


def promote_major(actor: User, ticket_id: int, version: int | None = None) -> Ticket:
    require_writer(actor, "declare major incidents")
    with changing(actor, ticket_id, version, "major") as ticket:
        if ticket.is_major:
            raise Conflict(f"{ticket.number} is already a major incident", field="is_major")
        if not ticket.is_open:
            raise Conflict(f"{ticket.number} is {ticket.status}", field="status")
        ticket.is_major = True
        audit.record(
            "ticket.major",
            actor=actor,
            obj=ticket,
            summary=f"{ticket.number} declared a major incident",
        )
    return ticket


def add_affected(actor: User, ticket_id: int) -> AffectedPerson:
    """'Me too': the person joins a known incident instead of filing a duplicate."""
    with transaction.atomic():
        ticket = _open_incident_for_affected(actor, ticket_id)
        affected, created = AffectedPerson.objects.get_or_create(
            ticket=ticket, user=actor, defaults={"created_at": timezone.now()}
        )
        if created:
            ticket.watchers.add(actor)
            audit.record(
                "ticket.affected",
                actor=actor,
                obj=ticket,
                summary=f"{actor.username} is also affected by {ticket.number}",
            )
    return affected


def _open_incident_for_affected(actor: User, ticket_id: int) -> Ticket:
    # Anyone may join a known incident (known_incidents), not only their department's:
    # an EHR outage is everyone's.
    try:
        ticket = known_incidents().select_for_update(of=("self",)).get(pk=ticket_id)
    except Ticket.DoesNotExist:
        raise InvalidInput(f"no open, known incident {ticket_id}", field="id") from None
    return ticket


def known_incidents(service_id: int | None = None) -> QuerySet[Ticket]:
    """Open incidents everyone may be told about: major incidents and those affecting a whole
    department or more. Shown on the portal before a requester files a duplicate."""
    incidents = (
        Ticket.objects.open()
        .filter(kind=Kind.INCIDENT)
        .filter(Q(is_major=True) | Q(scope__in=list(WIDE_SCOPES)))
    )
    if service_id is not None:
        incidents = incidents.filter(service_id=service_id)
    return incidents.select_related("service").order_by("priority", "created_at")


def public_title(ticket: Ticket) -> str:
    """A title safe to show to anyone: one that may hold PHI is replaced."""
    if ticket.phi_flagged:
        return f"Reported problem with {ticket.service.name if ticket.service else 'a service'}"
    return ticket.title
