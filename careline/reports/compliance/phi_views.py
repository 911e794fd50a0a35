"""Who opened tickets flagged as likely holding patient information, from the audit trail
(every opening of a ticket, page or API, is recorded as "ticket.view")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from django.db.models import CharField, Count, QuerySet
from django.db.models.functions import Cast

from careline.core.choices import Role
from careline.core.models import AuditEvent, User
from careline.core.permissions import Perm, require
from careline.reports.compliance.tables import (
    Column,
    Report,
    Row,
    Table,
    chunks,
    local_start,
    plural,
    window,
)
from careline.servicedesk.models import Ticket

VIEW_ACTION = "ticket.view"  # servicedesk.services.tickets.record_view
TICKET_OBJECT = "servicedesk.ticket"

PHI_VIEW_COLUMNS = [
    Column("viewed_at", "Viewed at"),
    Column("user", "User"),
    Column("role", "Role"),
    Column("ticket", "Ticket"),
    Column("department", "Ticket's department"),
    Column("relation", "Relation to the ticket", empty="none"),
    Column("ip", "From address"),
]


def _relation(user_id: int | None, ticket: Ticket, watchers: set[tuple[int, int]]) -> str | None:
    if user_id is None:
        return None
    if user_id == ticket.requester_id:
        return "requester"
    if user_id == ticket.assignee_id:
        return "assignee"
    if (ticket.pk, user_id) in watchers:
        return "watcher"
    return None


def _phi_view_rows(events: QuerySet[AuditEvent], window: slice) -> Iterator[Row]:
    """The events with their tickets, read a chunk at a time: three small queries per
    chunk rather than one per row."""
    values = events.values_list("at", "actor_id", "actor_name", "object_id", "ip")[window]
    labels = dict(Role.choices)
    for chunk in chunks(values.iterator(chunk_size=2000), 500):
        ids = {int(e[3]) for e in chunk}
        tickets = {
            str(t.pk): t
            for t in Ticket.objects.filter(pk__in=ids)
            .select_related("department")
            .only("number", "requester_id", "assignee_id", "department__code")
        }
        watchers = set(
            Ticket.watchers.through.objects.filter(ticket_id__in=ids).values_list(
                "ticket_id", "user_id"
            )
        )
        roles = dict(User.objects.filter(pk__in={e[1] for e in chunk}).values_list("pk", "role"))
        for at, actor_id, actor_name, object_id, ip in chunk:
            ticket = tickets.get(object_id)
            if ticket is None:
                continue  # removed between the two queries
            yield [
                at,
                actor_name,
                labels.get(roles.get(actor_id, ""), ""),
                ticket.number,
                ticket.department.code,
                _relation(actor_id, ticket, watchers),
                ip,
            ]


def phi_views(actor: User, *, since: date, until: date, user: User | None = None) -> Report:
    require(actor, Perm.COMPLIANCE_VIEW)
    # Only tickets this person may see on the desk: a security incident's number is not
    # shown to someone without clearance.
    flagged = (
        Ticket.objects.visible_to(actor)
        .filter(phi_flagged=True)
        .annotate(key=Cast("id", CharField()))
        .values("key")
    )
    events = AuditEvent.objects.filter(
        action=VIEW_ACTION,
        object_type=TICKET_OBJECT,
        at__gte=local_start(since),
        at__lt=local_start(until + timedelta(days=1)),
        object_id__in=flagged,
    )
    if user is not None:
        events = events.filter(actor=user)
    events = events.order_by("-at", "-id")
    counts = events.aggregate(
        views=Count("id"),
        tickets=Count("object_id", distinct=True),
        people=Count("actor_name", distinct=True),
    )
    return Report(
        name="phi-views",
        title="Who viewed tickets holding PHI",
        lead="Every opening of a ticket flagged as likely holding patient information, on "
        "the ticket page or through the API, from the audit trail. Look for people with "
        "no relation to the ticket.",
        filters={},
        summary=[
            f"{plural(counts['views'], 'view')} of "
            f"{plural(counts['tickets'], 'flagged ticket')} by "
            f"{plural(counts['people'], 'person', 'people')}",
            f"{since.isoformat()} to {until.isoformat()}",
        ],
        tables=[
            Table(
                "views",
                "Views",
                PHI_VIEW_COLUMNS,
                counts["views"],
                lambda offset, limit: _phi_view_rows(events, window(offset, limit)),
            )
        ],
    )
