"""What the service desk hands to on-call: urgent tickets page someone, SLA breaches of
urgent tickets escalate, and resolving the tickets ends the page.

P1 and P2 incidents (and security incidents) page by default, day and night; monitoring asks
for a page at every priority and lets the escalation route decide how (P3 and P4 by email in
business hours). Everything runs inside the ticket's own transaction, so the page and its
messages exist exactly when the ticket does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from django.utils import timezone

from careline.core.links import absolute_url
from careline.oncall.models import PageSource
from careline.oncall.services import answers, paging
from careline.oncall.services.paging import Outcome, PageRequest
from careline.servicedesk.calendar import next_opening
from careline.servicedesk.choices import Kind
from careline.servicedesk.models import Ticket
from careline.servicedesk.services import sla

URGENT = frozenset({"P1", "P2"})


def request_for(
    ticket: Ticket, *, source: str, keys: Sequence[str] = (), title: str = ""
) -> PageRequest:
    # A security incident's words, like a PHI-flagged ticket's, stay inside CareLine.
    sensitive = ticket.phi_flagged or ticket.kind == Kind.SECURITY
    words = title or f"{ticket.number} {ticket.title}"
    opening = None
    if ticket.priority not in URGENT:
        opening = next_opening(timezone.now(), sla.site_hours(ticket.site))
    return PageRequest(
        title=words,
        priority=ticket.priority,
        source=source,
        summary="" if sensitive else ticket.priority_reason,
        service_id=ticket.service_id,
        service_code=ticket.service.code if ticket.service is not None else "",
        site_id=ticket.site_id,
        ticket_id=ticket.pk,
        url=absolute_url(f"/tickets/{ticket.pk}/"),
        keys=tuple(keys),
        sensitive=sensitive,
        business_open_at=opening,
    )


def page_for_ticket(
    ticket: Ticket,
    *,
    source: str = PageSource.TICKET,
    keys: Sequence[str] = (),
    every_priority: bool = False,
) -> Outcome | None:
    """Page for the ticket when it is urgent (or always, for monitoring). Call inside the
    ticket's transaction."""
    if ticket.kind == Kind.REQUEST:
        return None
    if not every_priority and ticket.priority not in URGENT:
        return None
    return paging.page(request_for(ticket, source=source, keys=keys))


def page_for_breach(ticket: Ticket, target: str) -> Outcome | None:
    """An urgent ticket missed its target: page through the escalation route, grouped with the
    ticket's own page if it has one still open."""
    if ticket.priority not in URGENT:
        return None
    title = f"{ticket.number} breached its {target} target"
    request = request_for(
        ticket, source=PageSource.SLA_BREACH, keys=(f"breach:{ticket.pk}",), title=title
    )
    return paging.page(replace(request, escalation=True))


def tickets_resolved(ticket_ids: Sequence[int]) -> int:
    """Resolved tickets end the pages whose every incident is now resolved."""
    return answers.tickets_resolved(ticket_ids)
