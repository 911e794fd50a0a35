"""Helpers the service desk's pages share: who is asking, refusals, times in words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from careline.core.errors import CareLineError, Conflict, Forbidden, InvalidInput
from careline.core.models import User
from careline.core.views import require_page
from careline.servicedesk.apps import CONSOLE_PERM
from careline.servicedesk.choices import OPEN_STATUSES, SlaResult
from careline.servicedesk.models import Ticket
from careline.servicedesk.search import ticket_number


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def require_console(request: HttpRequest) -> HttpResponse | None:
    """The 403 page for anyone who is not IT staff."""
    return require_page(request, CONSOLE_PERM)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "core/forbidden.html", {"message": message}, status=403)


def not_found(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(
        request,
        "servicedesk/not_found.html",
        {"message": message or "There is no such ticket, or it is not yours to see."},
        status=404,
    )


def error_status(exc: CareLineError) -> int:
    """A refused form: 409 for a stale or impossible change, 403 for a role, else 422."""
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, Forbidden):
        return 403
    return 422


_ID = re.compile(r"^#?\d{1,12}$")


def ticket_ref(user: User, text: str, field: str) -> int:
    """The id of the ticket a person named by its number (INC-000123, inc-123) or its id."""
    text = text.strip()
    if _ID.match(text):
        return int(text.lstrip("#"))
    number = ticket_number(text)
    if number is not None:
        found = (
            Ticket.objects.visible_to(user)
            .filter(number=number)
            .values_list("pk", flat=True)
            .first()
        )
        if found is None:
            raise InvalidInput(f"no ticket {number} that you may see", field=field)
        return found
    raise InvalidInput(
        f"give a ticket number such as INC-000123, or an id (got {text[:20]!r})", field=field
    )


def clock(at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """14:30, or 14:30 on Tue 3 Mar when not today, in the zone of the ticket's site."""
    local = at.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return f"{local:%H:%M} on {local:%a} {local.day} {local:%b}"


def duration(minutes: float) -> str:
    """45 min, 2 h 05 min, 3 d 4 h: how long, in words an agent reads at a glance."""
    minutes = int(abs(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@dataclass(frozen=True)
class TimeLeft:
    text: str
    state: str  # "ok", "warn" (75 % of the target gone), "breached", "paused", "done"


def time_left(ticket: Ticket, now: datetime) -> TimeLeft:
    """Time left to the resolution target, with its state in words as well as colour."""
    if ticket.status not in OPEN_STATUSES:
        return TimeLeft(ticket.get_status_display(), "done")
    if ticket.sla_paused_at is not None:
        return TimeLeft("Paused, waiting on requester", "paused")
    left = (ticket.resolve_by - now) / timedelta(minutes=1)
    if left < 0 or ticket.resolution_result == SlaResult.BREACHED:
        return TimeLeft(f"Breached {duration(left)} ago", "breached")
    if now >= ticket.resolve_warn_at:
        return TimeLeft(f"{duration(left)} (due soon)", "warn")
    return TimeLeft(duration(left), "ok")
