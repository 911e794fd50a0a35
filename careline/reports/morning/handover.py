"""The end-of-shift handover of one site: open tickets by priority with their latest note,
incidents still unresolved, the notes this shift leaves the next, and the changes planned
for the coming shift.

A fixed number of queries: open tickets counted by priority in one, each priority's first
rows in one more (the latest note's id found by a subquery), the notes themselves in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Subquery

from careline.core.models import Site, User
from careline.monitoring.models import MonitorIncident
from careline.reports.morning import schedule
from careline.reports.morning.check import (
    Capped,
    ChangeRow,
    capped,
    change_rows,
    cleared,
    shown_title,
    site_tickets,
)
from careline.reports.morning.models import HandoverNote
from careline.servicedesk import phi
from careline.servicedesk.choices import Priority
from careline.servicedesk.models import Comment, Ticket
from careline.servicedesk.models.tickets import TicketQuerySet

# Open tickets listed per priority, then "and N more".
PER_PRIORITY = 20
INCIDENTS = 25
NOTES = 50
NOTE_WITHHELD = "(note withheld: may hold patient information; read it in CareLine)"
NOTE_CHARS = 400


@dataclass
class OpenTicket:
    id: int
    number: str
    title: str
    kind: str
    status: str
    assignee: str
    resolve_by: datetime
    note: str  # the latest comment or internal note, cut to NOTE_CHARS
    note_by: str
    note_at: datetime | None


@dataclass
class PriorityGroup:
    priority: str
    label: str
    tickets: Capped[OpenTicket]


@dataclass
class IncidentRow:
    ticket_id: int
    number: str
    title: str
    source: str  # monitor, trend, alertmanager, generic, backup; "major" for a major incident
    what: str  # the monitor's name, or the alert's key
    since: datetime


@dataclass
class NoteRow:
    id: int
    author: str
    text: str
    created_at: datetime


@dataclass
class HandoverReport:
    site: str
    site_name: str
    time_zone: str
    at: datetime
    shift_start: datetime
    shift_end: datetime
    next_end: datetime
    open_total: int
    groups: list[PriorityGroup]
    incidents: Capped[IncidentRow]
    notes_for_next: list[NoteRow]
    notes_for_this: list[NoteRow]
    changes: Capped[ChangeRow]
    security_left_out: bool


def _latest_note_id() -> Subquery:
    return Subquery(
        Comment.objects.filter(ticket_id=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )


def _note_text(body: str, flagged: bool, private: bool) -> str:
    if private and (flagged or phi.scan(body)):
        return NOTE_WITHHELD
    return body if len(body) <= NOTE_CHARS else body[: NOTE_CHARS - 1] + "…"


def _open_groups(tickets: TicketQuerySet, private: bool) -> tuple[list[PriorityGroup], int]:
    open_tickets = tickets.open()
    counts = dict(open_tickets.values_list("priority").annotate(n=Count("id")).order_by())
    found: dict[str, list[Ticket]] = {}
    for priority in Priority.values:
        if not counts.get(priority):
            found[priority] = []
            continue
        found[priority] = list(
            open_tickets.filter(priority=priority)
            .select_related("assignee")
            .annotate(latest_note_id=_latest_note_id())
            .order_by("resolve_by", "id")[:PER_PRIORITY]
        )
    note_ids = [
        t.latest_note_id  # type: ignore[attr-defined]
        for rows in found.values()
        for t in rows
        if t.latest_note_id is not None  # type: ignore[attr-defined]
    ]
    notes = Comment.objects.in_bulk(note_ids) if note_ids else {}
    groups = []
    for priority, label in Priority.choices:
        rows = []
        for t in found[priority]:
            note = notes.get(t.latest_note_id)  # type: ignore[attr-defined]
            rows.append(
                OpenTicket(
                    t.pk,
                    t.number,
                    shown_title(t.title, t.phi_flagged, private),
                    t.kind,
                    t.status,
                    t.assignee.display_name if t.assignee else "",
                    t.resolve_by,
                    _note_text(note.body, t.phi_flagged, private) if note else "",
                    note.author_name if note else "",
                    note.created_at if note else None,
                )
            )
        groups.append(PriorityGroup(priority, label, Capped(rows, counts.get(priority, 0))))
    return groups, sum(counts.values())


def _incidents(tickets: TicketQuerySet, private: bool) -> Capped[IncidentRow]:
    """Monitoring incidents not yet resolved, then open major incidents, oldest first."""
    detected, n_detected = capped(
        MonitorIncident.objects.filter(resolved_at__isnull=True, ticket_id__in=tickets.values("pk"))
        .select_related("ticket", "monitor")
        .order_by("down_since", "id"),
        INCIDENTS,
    )
    rows = [
        IncidentRow(
            i.ticket_id,
            i.ticket.number,
            shown_title(i.ticket.title, i.ticket.phi_flagged, private),
            i.source,
            i.monitor.name if i.monitor else i.alert_key,
            i.down_since,
        )
        for i in detected
    ]
    major, n_major = capped(
        tickets.open().filter(is_major=True).order_by("created_at", "id"), INCIDENTS
    )
    rows += [
        IncidentRow(
            t.pk,
            t.number,
            shown_title(t.title, t.phi_flagged, private),
            "major",
            "Major incident",
            t.created_at,
        )
        for t in major
    ]
    return Capped(rows, n_detected + n_major)


def _notes(site: Site, shift_start: datetime) -> list[NoteRow]:
    found = (
        HandoverNote.objects.filter(site=site, shift_starts_at=shift_start)
        .select_related("author")
        .order_by("created_at", "id")[:NOTES]
    )
    return [NoteRow(n.pk, n.author.display_name, n.text, n.created_at) for n in found]


def build_handover(
    site: Site, at: datetime, viewer: User | None = None, *, shift_end: datetime | None = None
) -> HandoverReport:
    """The handover of the shift holding `at`, or of the shift ending at `shift_end` (the
    engine's, sent at that shift's end). Tickets and incidents are as they stand at `at`."""
    if shift_end is None:
        start, end = schedule.shift_holding(site, at)
    else:
        # The shift that ends there is the one holding the instant before.
        start, end = schedule.shift_holding(site, shift_end - timedelta(seconds=1))[0], shift_end
    _, next_end = schedule.shift_holding(site, end)
    private = viewer is None
    tickets = site_tickets(site, viewer)
    groups, open_total = _open_groups(tickets, private)
    return HandoverReport(
        site=site.code,
        site_name=site.name,
        time_zone=site.time_zone,
        at=at,
        shift_start=start,
        shift_end=end,
        next_end=next_end,
        open_total=open_total,
        groups=groups,
        incidents=_incidents(tickets, private),
        notes_for_next=_notes(site, end),
        notes_for_this=_notes(site, start),
        changes=change_rows(end, next_end),
        security_left_out=viewer is None or not cleared(viewer),
    )
