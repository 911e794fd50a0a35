"""Downtime pages: the list (active, upcoming, recent), an event's page with its procedures,
updates, checklist and report, and the form to declare one. Everyone signed in reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from careline.continuity.models import DowntimeEvent, DowntimeKind, DowntimeStatus
from careline.continuity.services import downtime, notices, report
from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput
from careline.core.markdown import render as render_markdown
from careline.core.models import ClinicalService, Department
from careline.core.permissions import Perm, has_perm
from careline.core.views import require_page


def event_list(request: HttpRequest) -> HttpResponse:
    events = DowntimeEvent.objects.prefetch_related("services")
    context = {
        "active": events.filter(status=DowntimeStatus.ACTIVE),
        "upcoming": events.filter(status=DowntimeStatus.SCHEDULED).order_by("starts_at"),
        "recent": events.filter(status__in=[DowntimeStatus.ENDED, DowntimeStatus.CLOSED])[:20],
        "can_manage": has_perm(request.user, Perm.DOWNTIME_MANAGE),
    }
    return render(request, "continuity/list.html", context)


def event_page(request: HttpRequest, event_id: int) -> HttpResponse:
    event = DowntimeEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise Http404(f"no downtime event {event_id}")
    services = list(event.services.order_by("tier", "code"))
    departments = [
        {
            "department": d,
            "procedures": [
                {"procedure": p, "html": render_markdown(p.body)}
                for p in notices.procedures_for(services, d)
            ],
        }
        for d in event.departments.order_by("code")
    ]
    context = {
        "event": event,
        "services": services,
        "departments": departments,
        "updates": event.updates.select_related("author"),
        "checklist": event.checklist.select_related("done_by"),
        "tickets": event.tickets.order_by("number"),
        "report": report.build(event),
        "can_manage": has_perm(request.user, Perm.DOWNTIME_MANAGE)
        and event.status != DowntimeStatus.CLOSED,
    }
    return render(request, "continuity/detail.html", context)


def form_datetime(value: str, field: str) -> datetime | None:
    if not value.strip():
        return None
    parsed = parse_datetime(value.strip())
    if parsed is None:
        raise InvalidInput(f"not a date and time (got {value[:40]!r})", field=field)
    # A time typed in the form is read on the browser's (the server's) clock.
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def event_new(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.DOWNTIME_MANAGE)) is not None:
        return denied
    values: dict[str, Any] = {"kind": DowntimeKind.UNPLANNED}
    error = ""
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("title", "description", "kind")}
        values["services"] = request.POST.getlist("services")
        values["departments"] = request.POST.getlist("departments")
        try:
            starts = form_datetime(request.POST.get("starts_at", ""), "starts_at") or timezone.now()
            event = downtime.declare(
                signed_in(request),
                downtime.DowntimeDraft(
                    title=values["title"],
                    kind=values["kind"],
                    services=values["services"],
                    departments=values["departments"],
                    starts_at=starts,
                    ends_at=form_datetime(request.POST.get("ends_at", ""), "ends_at"),
                    description=values["description"],
                    read_only_access=request.POST.get("read_only_access") == "on",
                ),
            )
        except CareLineError as exc:
            error = str(exc)
        else:
            return redirect("continuity:detail", event_id=event.pk)
    context = {
        "values": values,
        "error": error,
        "services": ClinicalService.objects.order_by("tier", "code"),
        "departments": Department.objects.order_by("code"),
    }
    return render(request, "continuity/form.html", context, status=422 if error else 200)


def _act(
    request: HttpRequest, event_id: int, action: Callable[[], object], done: str
) -> HttpResponse:
    try:
        action()
    except CareLineError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("continuity:detail", event_id=event_id)


@require_POST
def post_update(request: HttpRequest, event_id: int) -> HttpResponse:
    text = request.POST.get("text", "")
    return _act(
        request,
        event_id,
        lambda: downtime.add_update(signed_in(request), event_id, text),
        "Update posted.",
    )


@require_POST
def end_event(request: HttpRequest, event_id: int) -> HttpResponse:
    return _act(
        request, event_id, lambda: downtime.end(signed_in(request), event_id), "Downtime ended."
    )


@require_POST
def cancel_event(request: HttpRequest, event_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _act(
        request,
        event_id,
        lambda: downtime.cancel(signed_in(request), event_id, reason),
        "Planned downtime cancelled.",
    )


@require_POST
def close_event(request: HttpRequest, event_id: int) -> HttpResponse:
    return _act(request, event_id, lambda: downtime.close(signed_in(request), event_id), "Closed.")


@require_POST
def tick_item(request: HttpRequest, event_id: int, item_id: int) -> HttpResponse:
    return _act(
        request,
        event_id,
        lambda: downtime.tick(signed_in(request), event_id, item_id),
        "Ticked.",
    )
