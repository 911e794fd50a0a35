"""On-call pages: Schedules, rotations, overrides, shift swaps, who is on call now.

Times on these pages are read on the schedule's own wall clock (a form's date and time too),
because that is the clock its hand-offs follow.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput
from careline.core.models import User
from careline.core.permissions import ROLE_PERMS, Perm, has_perm
from careline.core.views import require_page
from careline.oncall.models import CalendarFeed, Layer, Override, Schedule
from careline.oncall.services import schedule_changes as changes
from careline.oncall.services import schedule_feed, schedules
from careline.oncall.services.schedules import OnCall, Shift, localise

CALENDAR_DAYS = 14
MIDNIGHT = time(0, 0)


def _when(instant: datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    if instant is None:
        return ""
    return f"{instant.astimezone(zone):%a %d %b %H:%M}"


def _name(user: User | None) -> str:
    return user.display_name if user is not None else "Nobody"


def _now_row(schedule: Schedule, now: datetime) -> dict[str, Any]:
    zone = schedules.zone_of(schedule)
    current: OnCall | None
    current, following = schedules.now_and_next(schedule, now)
    return {
        "schedule": schedule,
        "person": _name(current.user if current else None),
        "nobody": current is None,
        "source": current.source if current else "",
        "until": _when(current.ends_at, zone) if current else "",
        "next": _name(following.user) if following else "",
        "next_from": _when(following.start, zone) if following else "",
    }


@require_GET
def now_page(request: HttpRequest) -> HttpResponse:
    """Every schedule, who holds it now, until when, and who comes next."""
    if (denied := require_page(request, Perm.ONCALL_VIEW)) is not None:
        return denied
    now = timezone.now()
    found = schedules.schedules_with_relations(since=now - schedules.STRETCH_HORIZON)
    context = {
        "rows": [_now_row(s, now) for s in found],
        "now": now,
        "can_see_outbox": has_perm(request.user, Perm.OUTBOX_MANAGE),
    }
    return render(request, "oncall/now.html", context)


# --- a schedule's calendar ------------------------------------------------------------------


def _day_entries(
    day: date, shifts: list[Shift], zone: zoneinfo.ZoneInfo, now: datetime
) -> list[dict[str, Any]]:
    opens = localise(day, MIDNIGHT, zone)
    closes = localise(day + timedelta(days=1), MIDNIGHT, zone)
    entries = []
    for shift in shifts:
        if shift.end <= opens or shift.start >= closes:
            continue
        entries.append(
            {
                "start": f"{max(shift.start, opens).astimezone(zone):%H:%M}",
                "end": "24:00" if shift.end >= closes else f"{shift.end.astimezone(zone):%H:%M}",
                "person": _name(shift.user),
                "nobody": shift.user is None,
                "source": shift.source,
                "now": shift.start <= now < shift.end,
            }
        )
    return entries


def _rotation_text(layer: Layer) -> str:
    every = {1: "daily", 7: "weekly"}.get(layer.length_days, f"every {layer.length_days} days")
    text = f"Hands over {every} at {layer.handoff_time:%H:%M}, from {layer.starts_on:%d %b %Y}"
    if layer.restrict_from is not None and layer.restrict_to is not None:
        text += f"; covers {layer.restrict_from:%H:%M} to {layer.restrict_to:%H:%M} only"
    return text


def _may_remove(user: User, override: Override) -> bool:
    return has_perm(user, Perm.ONCALL_MANAGE) or (
        has_perm(user, Perm.ONCALL_RESPOND) and override.user_id == user.pk
    )


def _responders() -> list[User]:
    roles = [role for role, perms in ROLE_PERMS.items() if Perm.ONCALL_RESPOND in perms]
    return list(User.objects.filter(is_active=True, role__in=roles).order_by("username"))


def _first_day(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> tuple[date, str]:
    today = timezone.now().astimezone(zone).date()
    raw = request.GET.get("start", "").strip()
    if not raw:
        return today, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return today, f"start: must be a date as YYYY-MM-DD (got {raw[:20]!r}); showing today"


def _schedule_context(request: HttpRequest, schedule_code: str) -> dict[str, Any]:
    user = signed_in(request)
    zone = schedules.zone_of(schedules.schedule_by_code(schedule_code))
    first, start_error = _first_day(request, zone)
    first = min(max(first, date(2000, 1, 1)), date(2199, 1, 1))
    window_start = localise(first, MIDNIGHT, zone)
    window_end = localise(first + timedelta(days=CALENDAR_DAYS), MIDNIGHT, zone)
    schedule = schedules.load_schedule(schedule_code, since=window_start)
    rota = schedules.rota_of(schedule)
    shifts = schedules.segments(rota, window_start, window_end)
    now = timezone.now()
    days = [first + timedelta(days=n) for n in range(CALENDAR_DAYS)]
    can_manage = has_perm(user, Perm.ONCALL_MANAGE)
    return {
        "schedule": schedule,
        "zone": zone.key,
        "start_error": start_error,
        "days": [
            {
                "date": d,
                "today": d == now.astimezone(zone).date(),
                "entries": _day_entries(d, shifts, zone, now),
            }
            for d in days
        ],
        "previous": (first - timedelta(days=CALENDAR_DAYS)).isoformat(),
        "following": (first + timedelta(days=CALENDAR_DAYS)).isoformat(),
        "layers": [
            {
                "name": layer.name,
                "rotation": _rotation_text(layer),
                "members": [m.user.display_name for m in layer.members.all()],
            }
            for layer in sorted(schedule.layers.all(), key=lambda la: la.position, reverse=True)
        ],
        "overrides": [
            {
                "override": o,
                "starts": _when(o.starts_at, zone),
                "ends": _when(o.ends_at, zone),
                "removable": _may_remove(user, o),
            }
            for o in schedule.overrides.all()
        ],
        "can_add": can_manage or has_perm(user, Perm.ONCALL_RESPOND),
        "can_manage": can_manage,
        "people": _responders() if can_manage else [user],
        "values": {"user": user.username},
    }


@require_GET
def schedule_page(request: HttpRequest, code: str) -> HttpResponse:
    if (denied := require_page(request, Perm.ONCALL_VIEW)) is not None:
        return denied
    try:
        context = _schedule_context(request, code)
    except CareLineError as exc:
        return render(request, "core/forbidden.html", {"message": exc.message}, status=exc.status)
    return render(
        request, "oncall/schedule.html", context, status=422 if context["start_error"] else 200
    )


def _local_input(value: str, zone: zoneinfo.ZoneInfo, field: str) -> datetime:
    """A date and time typed into the form, on the schedule's wall clock."""
    try:
        typed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"must be a date and time such as 2027-03-14T08:00 (got {value[:20]!r})", field=field
        ) from None
    if not schedules.EARLIEST.year <= typed.year <= schedules.LATEST.year - 1:
        raise InvalidInput(f"must be between 1971 and 2198 (got {typed.year})", field=field)
    if typed.tzinfo is not None:
        return typed
    return localise(typed.date(), typed.time(), zone)


@require_POST
def override_add(request: HttpRequest, code: str) -> HttpResponse:
    if (denied := require_page(request, Perm.ONCALL_VIEW)) is not None:
        return denied
    user = signed_in(request)
    post = request.POST
    try:
        schedule = schedules.schedule_by_code(code)
        zone = schedules.zone_of(schedule)
        starts_at = _local_input(post.get("starts_at", ""), zone, "starts_at")
        override = changes.add_override(
            user,
            code,
            user=post.get("user", "") or user.username,
            starts_at=starts_at,
            ends_at=_local_input(post.get("ends_at", ""), zone, "ends_at"),
            reason=post.get("reason", ""),
        )
    except CareLineError as exc:
        try:
            context = _schedule_context(request, code)
        except CareLineError as missing:
            return render(request, "core/forbidden.html", {"message": missing.message}, status=404)
        context.update(error=exc, values=post.dict())
        return render(request, "oncall/schedule.html", context, status=exc.status)
    messages.success(
        request,
        f"{override.user.display_name} covers {_when(override.starts_at, zone)} "
        f"to {_when(override.ends_at, zone)}.",
    )
    first = override.starts_at.astimezone(zone).date().isoformat()
    return redirect(f"{reverse('oncall:schedule', args=[code])}?start={first}")


@require_POST
def override_remove(request: HttpRequest, code: str, override_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.ONCALL_VIEW)) is not None:
        return denied
    try:
        removed = changes.delete_override(signed_in(request), code, override_id)
    except CareLineError as exc:
        return render(request, "core/forbidden.html", {"message": exc.message}, status=exc.status)
    names = " and ".join(o.user.display_name for o in removed)
    messages.success(request, f"Override of {names} removed.")
    return redirect("oncall:schedule", code)


# --- calendar feeds -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def calendar_page(request: HttpRequest) -> HttpResponse:
    """Make or renew the signed-in person's feed link; the link is shown once."""
    if (denied := require_page(request, Perm.ONCALL_VIEW)) is not None:
        return denied
    user = signed_in(request)
    url = ""
    if request.method == "POST":
        url = schedule_feed.issue_calendar_feed(user).url
    context = {"feed": CalendarFeed.objects.filter(user=user).first(), "url": url}
    return render(request, "oncall/calendar.html", context)


@login_not_required
@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself: the token in its address is the credential."""
    owner = schedule_feed.feed_owner(token)
    if owner is None:
        return HttpResponseNotFound("No such calendar feed.", content_type="text/plain")
    response = HttpResponse(
        schedule_feed.calendar_of(owner, timezone.now()),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'inline; filename="oncall.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


urlpatterns: list[URLPattern] = [
    path("oncall/", now_page, name="now"),
    path("oncall/schedules/<str:code>/", schedule_page, name="schedule"),
    path("oncall/schedules/<str:code>/overrides/", override_add, name="override_add"),
    path(
        "oncall/schedules/<str:code>/overrides/<int:override_id>/remove/",
        override_remove,
        name="override_remove",
    ),
    path("oncall/calendar/", calendar_page, name="calendar"),
    path("oncall/feed/<str:token>.ics", feed, name="feed"),
]
