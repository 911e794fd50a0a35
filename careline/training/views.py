"""Training pages: upcoming sessions with a Register button (usable on a phone), one session
with its roster, attendance and knowledge-base articles, the form to plan or edit a session,
and who is trained on which system."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_http_methods, require_POST

from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput, NotFound
from careline.core.models import ClinicalService, Department, Site, User
from careline.core.permissions import Perm, has_perm
from careline.core.services import user_by_username
from careline.core.views import require_page
from careline.training.choices import RegistrationStatus
from careline.training.models import TrainingSession
from careline.training.services import articles, records, registrations, sessions
from careline.training.services.common import runs, with_counts
from careline.training.services.common import sessions as all_sessions

FORM_FIELDS = ("service", "title", "description", "trainer", "capacity", "place", "site")


def _status(error: CareLineError | None) -> int:
    return error.status if error else 200


def session_list(request: HttpRequest, error: CareLineError | None = None) -> HttpResponse:
    user = signed_in(request)
    service = request.GET.get("service", "")
    found = records.upcoming()
    if service:
        found = found.filter(service__code=service)
    context = {
        "sessions": with_counts(found, user)[:200],
        "services": ClinicalService.objects.filter(training_sessions__isnull=False)
        .distinct()
        .order_by("tier", "code"),
        "service": service,
        "record": [r for r in records.own_record(user) if r.attended],
        "can_plan": has_perm(user, Perm.TRAINING_MANAGE),
        "can_see_matrix": has_perm(user, Perm.USERS_VIEW),
        "error": error,
    }
    return render(request, "training/list.html", context, status=_status(error))


def _detail(
    request: HttpRequest, session_id: int, error: CareLineError | None = None
) -> HttpResponse:
    user = signed_in(request)
    session = with_counts(all_sessions(), user).filter(pk=session_id).first()
    if session is None:
        return render(
            request,
            "core/forbidden.html",
            {"message": f"no training session {session_id}"},
            status=404,
        )
    mine = session.registrations.filter(user=user).first()
    running = runs(user, session)
    roster = (
        session.registrations.exclude(status=RegistrationStatus.CANCELLED)
        .select_related("user__department", "marked_by")
        .order_by("status", "requested_at", "id")
        if running
        else None
    )
    now = timezone.now()
    context: dict[str, Any] = {
        "session": session,
        "mine": mine if mine is not None and mine.status != RegistrationStatus.CANCELLED else None,
        "roster": roster,
        "running": running,
        "can_manage": has_perm(user, Perm.TRAINING_MANAGE),
        "open": not session.cancelled and session.starts_at > now,
        "started": not session.cancelled and session.starts_at <= now,
        "articles": articles.for_session(user, session),
        "error": error,
    }
    return render(request, "training/detail.html", context, status=_status(error))


def session_page(request: HttpRequest, session_id: int) -> HttpResponse:
    return _detail(request, session_id)


def _person(request: HttpRequest) -> User:
    username = request.POST.get("user", "").strip()
    if not username:
        raise InvalidInput("name the person (their username)", field="user")
    return user_by_username(username, field="user")


def _registration_id(request: HttpRequest) -> int:
    raw = request.POST.get("registration", "")
    if not raw.isdigit():
        raise InvalidInput(f"not a registration id (got {raw[:20]!r})", field="registration")
    return int(raw)


@require_POST
def session_action(request: HttpRequest, session_id: int, action: str) -> HttpResponse:
    """Every button on the session page and the list posts here; a refusal shows the page
    again with the reason and a 4xx status."""
    user = signed_in(request)
    back_to_list = request.POST.get("from") == "list"
    try:
        if action == "register":
            registrations.register(user, session_id)
        elif action == "register-other":
            registrations.register(user, session_id, _person(request))
        elif action == "walk-in":
            registrations.add_walk_in(user, session_id, _person(request))
        elif action == "cancel-registration":
            registrations.cancel_registration(user, _registration_id(request))
        elif action == "attendance":
            attended = request.POST.get("attended", "")
            if attended not in ("yes", "no"):
                raise InvalidInput(f"must be yes or no (got {attended[:10]!r})", field="attended")
            registrations.mark_attendance(user, _registration_id(request), attended == "yes")
        elif action == "cancel-session":
            sessions.cancel_session(user, session_id, request.POST.get("reason", ""))
        else:
            raise NotFound(f"no action {action[:40]!r} on a training session", field="action")
    except CareLineError as exc:
        if back_to_list:
            return session_list(request, exc)
        return _detail(request, session_id, exc)
    if back_to_list:
        return redirect(f"/training/#session-{session_id}")
    return redirect("training:detail", session_id=session_id)


def _form_time(value: str, field: str, zone: zoneinfo.ZoneInfo) -> datetime:
    parsed = parse_datetime(value.strip()) if value.strip() else None
    if parsed is None:
        raise InvalidInput(f"must be a date and time (got {value[:40]!r})", field=field)
    # A time typed in the form is the session's local time: the site's, else CareLine's.
    return timezone.make_aware(parsed, zone) if timezone.is_naive(parsed) else parsed


def _zone(site_code: str) -> zoneinfo.ZoneInfo:
    site = Site.objects.filter(code=site_code).first() if site_code else None
    return site.zone if site is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _form_values(session: TrainingSession) -> dict[str, Any]:
    zone = session.zone
    return {
        "service": session.service.code,
        "title": session.title,
        "description": session.description,
        "trainer": session.trainer.username,
        "capacity": session.capacity,
        "place": session.place,
        "site": session.site.code if session.site else "",
        "starts_at": session.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": session.ends_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
    }


def _posted(request: HttpRequest) -> dict[str, Any]:
    values: dict[str, Any] = {k: request.POST.get(k, "") for k in FORM_FIELDS}
    values["starts_at"] = request.POST.get("starts_at", "")
    values["ends_at"] = request.POST.get("ends_at", "")
    return values


def _save(request: HttpRequest, values: dict[str, Any], session_id: int | None) -> int:
    zone = _zone(values["site"])
    capacity = values["capacity"].strip()
    if not capacity.isdigit():
        raise InvalidInput(f"must be a whole number (got {capacity[:20]!r})", field="capacity")
    data: dict[str, Any] = {
        "title": values["title"],
        "description": values["description"],
        "trainer": values["trainer"],
        "capacity": int(capacity),
        "place": values["place"],
        "site": values["site"] or None,
        "starts_at": _form_time(values["starts_at"], "starts_at", zone),
        "ends_at": _form_time(values["ends_at"], "ends_at", zone),
    }
    user = signed_in(request)
    if session_id is None:
        return sessions.create_session(user, service=values["service"], **data).pk
    sessions.update_session(user, session_id, data)
    return session_id


@require_http_methods(["GET", "POST"])
def session_form(request: HttpRequest, session_id: int | None = None) -> HttpResponse:
    if (denied := require_page(request, Perm.TRAINING_MANAGE)) is not None:
        return denied
    session = all_sessions().filter(pk=session_id).first() if session_id else None
    if session_id is not None and session is None:
        return render(
            request,
            "core/forbidden.html",
            {"message": f"no training session {session_id}"},
            status=404,
        )
    values: dict[str, Any] = (
        _form_values(session) if session else {"capacity": 12, "trainer": request.user.username}
    )
    error: CareLineError | None = None
    if request.method == "POST":
        values = _posted(request)
        if session is not None:
            values["service"] = session.service.code
        try:
            saved = _save(request, values, session_id)
        except CareLineError as exc:
            error = exc
        else:
            return redirect("training:detail", session_id=saved)
    context = {
        "session": session,
        "values": values,
        "error": error,
        "services": ClinicalService.objects.order_by("tier", "code"),
        "sites": Site.objects.order_by("code"),
        "trainers": User.objects.filter(is_active=True)
        .exclude(role__in=["requester", "auditor"])
        .order_by("first_name", "last_name", "username"),
    }
    return render(request, "training/form.html", context, status=_status(error))


def trained_matrix(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.USERS_VIEW)) is not None:
        return denied
    service = request.GET.get("service", "")
    department = request.GET.get("department", "")
    error: CareLineError | None = None
    try:
        found = records.trained(
            signed_in(request), service=service or None, department=department or None
        )
    except CareLineError as exc:
        error, found = exc, []
    columns = sorted({t.service for t in found}, key=lambda s: (s.tier, s.code))
    people: dict[int, dict[str, Any]] = {}
    for t in found:
        row = people.setdefault(t.user.pk, {"user": t.user, "cells": {}})
        row["cells"][t.service.code] = t
    rows = [
        {"user": row["user"], "cells": [row["cells"].get(s.code) for s in columns]}
        for row in people.values()
    ]
    context = {
        "columns": columns,
        "rows": rows,
        "service": service,
        "department": department,
        "services": ClinicalService.objects.order_by("tier", "code"),
        "departments": Department.objects.order_by("code"),
        "error": error,
    }
    return render(request, "training/trained.html", context, status=_status(error))
