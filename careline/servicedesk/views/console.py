"""The agent console: one queue by clinical priority and SLA time left, filters mapped onto
the API's TicketFilter, saved views, bulk changes, and a table that refreshes itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from pydantic import ValidationError

from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput
from careline.core.models import User
from careline.core.services import user_by_username
from careline.servicedesk.api import TicketFilter, filtered_tickets
from careline.servicedesk.forms import (
    BulkForm,
    ConsoleFilterForm,
    SavedViewForm,
    queue_choices,
    staff_choices,
)
from careline.servicedesk.models import SavedView, Ticket
from careline.servicedesk.services import lifecycle
from careline.servicedesk.services import saved_views as saved
from careline.servicedesk.views.common import (
    TimeLeft,
    not_found,
    require_console,
    time_left,
)

PAGE_SIZE = 50
# The query parameters the console understands; anything else in a URL is ignored.
FILTERS = ("q", "queue", "status", "priority", "site", "department", "service", "assignee")
MAX_BULK = 200


def read_filters(query: QueryDict) -> tuple[TicketFilter | None, dict[str, str]]:
    """The console's GET parameters as the API's TicketFilter, or the errors that stop it.

    Status "" (the default) is every open ticket, "all" is every status; status and
    priority may be given more than once.
    """
    data: dict[str, Any] = {}
    statuses = [s for s in query.getlist("status") if s]
    if not statuses:
        data["open"] = True
    elif statuses != ["all"]:
        data["status"] = statuses
    priorities = [p for p in query.getlist("priority") if p]
    if priorities:
        data["priority"] = priorities
    for name in ("q", "queue", "site", "department", "service", "assignee"):
        value = query.get(name, "").strip()
        if value:
            data[name] = value
    try:
        return TicketFilter(**data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "q"
            errors.setdefault(name, error["msg"])
        return None, errors


def filter_query(query: QueryDict) -> dict[str, list[str]]:
    """Only the console's own parameters, without the page number: what a saved view keeps."""
    return {name: [v for v in query.getlist(name) if v] for name in FILTERS if query.getlist(name)}


def query_string(filters: dict[str, list[str]]) -> str:
    return urlencode({k: v for k, v in filters.items() if v}, doseq=True)


@dataclass(frozen=True)
class Row:
    ticket: Ticket
    left: TimeLeft


def _table(user: User, request: HttpRequest) -> dict[str, Any]:
    """What the queue table shows: one page of the filtered queue, or the filter's errors."""
    filters, errors = read_filters(request.GET)
    tickets = filtered_tickets(user, filters) if filters is not None else Ticket.objects.none()
    page: Page[Ticket] = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    query = query_string(filter_query(request.GET))
    return {
        "page": page,
        "rows": [Row(t, time_left(t, now)) for t in page],
        "errors": errors,
        "query": query,
        "selectable": _can_bulk(user),
        "updated_at": now,
        "updated": now.astimezone(_zone(user)).strftime("%H:%M:%S"),
    }


def _zone(user: User) -> ZoneInfo:
    """The agent's own site's time zone, for the "updated at" clock."""
    department = user.department
    return department.site.zone if department is not None else ZoneInfo("UTC")


def _can_bulk(user: User) -> bool:
    return user.role != "auditor"


@require_GET
def console(request: HttpRequest) -> HttpResponse:
    if (denied := require_console(request)) is not None:
        return denied
    user = signed_in(request)
    people = staff_choices("Nobody")
    table = _table(user, request)
    form = ConsoleFilterForm(request.GET, people=people, queues=queue_choices("Any"))
    form.is_valid()
    for name, message in table["errors"].items():
        form.add_error(name if name in form.fields else None, message)
    form.describe_errors()
    context = {
        **table,
        "form": form,
        "bulk_form": BulkForm(people=people),
        "saved_form": SavedViewForm(),
        "saved_views": [
            {"id": v.pk, "name": v.name, "query": query_string(v.filters)}
            for v in SavedView.objects.filter(user=user)
        ],
    }
    status = 422 if table["errors"] else 200
    return render(request, "servicedesk/console.html", context, status=status)


@require_GET
def console_table(request: HttpRequest) -> HttpResponse:
    """The htmx fragment the console polls every 30 s."""
    if (denied := require_console(request)) is not None:
        return denied
    user = signed_in(request)
    return render(request, "servicedesk/_console_table.html", _table(user, request))


def _back(query: str) -> HttpResponse:
    clean = query_string(filter_query(QueryDict(query[:2000])))
    return redirect("/desk/" + (f"?{clean}" if clean else ""))


@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Assign or change the status of the ticked tickets, each through its service function."""
    if (denied := require_console(request)) is not None:
        return denied
    user = signed_in(request)
    back = _back(request.POST.get("query", ""))
    raw_ids = request.POST.getlist("ticket")[:MAX_BULK]
    ids = sorted({int(i) for i in raw_ids if i.isdigit() and len(i) <= 12})
    if not ids:
        messages.error(request, "Tick at least one ticket first.")
        return back
    action = request.POST.get("action", "")
    numbers = dict(Ticket.objects.visible_to(user).filter(pk__in=ids).values_list("pk", "number"))
    try:
        change = _bulk_change(user, action, request.POST)
    except CareLineError as exc:
        messages.error(request, f"{exc.field}: {exc.message}" if exc.field else exc.message)
        return back
    done: list[str] = []
    failed: list[str] = []
    for ticket_id in ids:
        if ticket_id not in numbers:
            failed.append(f"#{ticket_id}: no such ticket that you may see")
            continue
        try:
            change(ticket_id)
        except CareLineError as exc:
            failed.append(f"{numbers[ticket_id]}: {exc.message}")
        else:
            done.append(numbers[ticket_id])
    if done:
        messages.success(request, f"{len(done)} changed: {', '.join(done)}.")
    for line in failed:
        messages.error(request, f"Not changed: {line}")
    return back


def _bulk_change(user: User, action: str, data: QueryDict) -> Any:
    """The one-ticket change a bulk action makes, with its inputs read once."""
    if action == "assign":
        who = data.get("assignee", "")
        if not who:
            raise InvalidInput("choose whom to assign the tickets to", field="assignee")
        assignee = (
            None
            if who == "none"
            else user
            if who == "me"
            else user_by_username(who[:150], field="assignee")
        )
        return lambda ticket_id: lifecycle.assign(user, ticket_id, assignee=assignee)
    if action == "status":
        status = data.get("status", "")
        if not status:
            raise InvalidInput("choose the new status", field="status")
        return lambda ticket_id: lifecycle.change_status(user, ticket_id, status[:32])
    raise InvalidInput(f"must be assign or status (got {action[:20]!r})", field="action")


@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    if (denied := require_console(request)) is not None:
        return denied
    user = signed_in(request)
    filters = filter_query(QueryDict(request.POST.get("query", "")[:2000]))
    try:
        view = saved.save_view(user, request.POST.get("name", ""), filters)
    except CareLineError as exc:
        messages.error(request, f"The view was not saved: {exc.message}")
    else:
        messages.success(request, f"Saved the view {view.name!r}.")
    return redirect("/desk/" + (f"?{query_string(filters)}" if filters else ""))


@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    if (denied := require_console(request)) is not None:
        return denied
    user = signed_in(request)
    try:
        saved.delete_view(user, view_id)
    except CareLineError as exc:
        return not_found(request, exc.message)
    messages.success(request, "Saved view deleted.")
    return redirect("servicedesk:console")
