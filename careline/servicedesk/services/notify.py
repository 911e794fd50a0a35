"""What the service desk tells people by email, written to the outbox in the change's transaction.

A ticket whose text may hold patient information (phi_flagged), or a reply that does, is
announced with its number and a link only: email leaves the hospital's control.
"""

from __future__ import annotations

from django.utils import timezone

from careline.core.links import absolute_url
from careline.core.models import User
from careline.oncall.outbox import Email, enqueue_email
from careline.servicedesk import phi
from careline.servicedesk.models import Comment, Ticket

SIGNATURE = "\n\n--\nCareLine service desk. Reply to this email to add to the ticket."


def _link(ticket: Ticket) -> str:
    return absolute_url(f"/tickets/{ticket.pk}/")


def _subject(ticket: Ticket, what: str = "") -> str:
    title = "Your ticket" if ticket.phi_flagged else ticket.title
    return f"[{ticket.number}] {what}{title}"


def _local(ticket: Ticket, field: str) -> str:
    value = getattr(ticket, field)
    return timezone.localtime(value, ticket.site.zone).strftime("%H:%M on %a %d %b")


def _send(to: User, ticket: Ticket, subject: str, body: str, key: str) -> None:
    enqueue_email(
        Email(
            to=to.email,
            subject=subject,
            body=body + SIGNATURE,
            key=key,
            thread=ticket.number,
            about=ticket,
        )
    )


def ticket_created(ticket: Ticket) -> None:
    body = (
        f"We have your report {ticket.number}.\n\n"
        f"Priority {ticket.priority}: {ticket.priority_reason}.\n"
        f"IT will respond by {_local(ticket, 'respond_by')}.\n\n"
        f"Follow it here: {_link(ticket)}"
    )
    if ticket.via == "email":
        body += "\n\nEmail is not watched as an emergency line: if patient care is at risk, call the service desk."
    _send(ticket.requester, ticket, _subject(ticket), body, f"ticket:{ticket.pk}:created")


def assigned(ticket: Ticket) -> None:
    if ticket.assignee is None:
        return
    body = (
        f"{ticket.number} is yours.\n\nPriority {ticket.priority}: {ticket.priority_reason}.\n"
        f"Respond by {_local(ticket, 'respond_by')}, resolve by {_local(ticket, 'resolve_by')}.\n\n{_link(ticket)}"
    )
    _send(
        ticket.assignee,
        ticket,
        _subject(ticket, "Assigned to you: "),
        body,
        f"ticket:{ticket.pk}:assigned:{ticket.version}:{ticket.assignee.pk}",
    )


def comment_posted(ticket: Ticket, comment: Comment) -> None:
    """A public reply reaches the other side: staff replies the requester, requester replies the assignee."""
    if not comment.public:
        return
    author = comment.author
    staff_wrote = author is not None and author.pk != ticket.requester_id
    recipients = (
        [ticket.requester] if staff_wrote else ([ticket.assignee] if ticket.assignee else [])
    )
    private = ticket.phi_flagged or bool(phi.scan(comment.body))
    text = "Read it here" if private else comment.body
    body = f"{comment.author_name} wrote on {ticket.number}:\n\n{text}\n\n{_link(ticket)}"
    for person in recipients:
        if person.pk != (author.pk if author else None):
            _send(
                person,
                ticket,
                _subject(ticket, "Re: "),
                body,
                f"ticket:{ticket.pk}:comment:{comment.pk}:{person.pk}",
            )


def resolved(ticket: Ticket) -> None:
    notes = (
        ""
        if ticket.phi_flagged or phi.scan(ticket.resolution_notes)
        else f"\n\nWhat was done: {ticket.resolution_notes}"
    )
    body = (
        f"{ticket.number} is resolved.{notes}\n\n"
        f"If it is not fixed, reply to this email or reopen it within a week: {_link(ticket)}"
    )
    _send(
        ticket.requester,
        ticket,
        _subject(ticket, "Resolved: "),
        body,
        f"ticket:{ticket.pk}:resolved:{ticket.reopened_count}",
    )
