"""Change pages: the list, one change with its risk, impact, conflicts, approvals and the
buttons its state allows, and the calendar day by day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from careline.changes.choices import ChangeKind, ChangeState, Outcome
from careline.changes.models import Change
from careline.changes.services import calendar, changes, lifecycle
from careline.core.callers import signed_in
from careline.core.errors import CareLineError, NotFound
from careline.core.permissions import Perm, has_perm
from careline.core.views import require_page

S = ChangeState


def change_list(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.CHANGES_VIEW)) is not None:
        return denied
    state = request.GET.get("state", "")
    found = changes.visible(signed_in(request)).prefetch_related("services")
    if state in S.values:
        found = found.filter(state=state)
    context = {"changes": found[:200], "states": S.choices, "state": state}
    return render(request, "changes/list.html", context)


def _buttons(request: HttpRequest, change: Change) -> list[str]:
    user = signed_in(request)
    buttons: list[str] = []
    if has_perm(user, Perm.CHANGES_EDIT):
        allowed = lifecycle.TRANSITIONS[S(change.state)]
        if change.state == S.DRAFT:
            buttons.append("submit")
        if S.IMPLEMENTING in allowed and (
            change.state == S.SCHEDULED or change.kind == ChangeKind.EMERGENCY
        ):
            buttons.append("start")
        if change.state == S.IMPLEMENTING:
            buttons.append("complete")
        if S.REVIEWED in allowed:
            buttons.append("review")
        if S.CLOSED in allowed:
            buttons.append("close")
        if S.CANCELLED in allowed:
            buttons.append("cancel")
    if has_perm(user, Perm.CHANGES_APPROVE) and change.requester_id != user.pk:
        pending = change.state == S.SUBMITTED or (
            change.kind == ChangeKind.EMERGENCY
            and change.approved_at is None
            and change.state in (S.IMPLEMENTING, S.IMPLEMENTED, S.FAILED, S.BACKED_OUT)
        )
        if pending and not any(a.approver_id == user.pk for a in change.approvals.all()):
            buttons += ["approve", "reject"]
    return buttons


def _detail(
    request: HttpRequest, change_id: int, error: CareLineError | None = None
) -> HttpResponse:
    user = signed_in(request)
    try:
        change = (
            changes.visible(user)
            .prefetch_related("items", "services", "approvals__approver")
            .get(pk=change_id)
        )
    except Change.DoesNotExist:
        return render(
            request, "core/forbidden.html", {"message": f"no change {change_id}"}, status=404
        )
    context: dict[str, Any] = {
        "change": change,
        "buttons": _buttons(request, change),
        "outcomes": Outcome.choices,
        "error": error,
    }
    return render(request, "changes/detail.html", context, status=error.status if error else 200)


def change_page(request: HttpRequest, change_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.CHANGES_VIEW)) is not None:
        return denied
    return _detail(request, change_id)


@require_POST
def change_action(request: HttpRequest, change_id: int, action: str) -> HttpResponse:
    if (denied := require_page(request, Perm.CHANGES_VIEW)) is not None:
        return denied
    user = signed_in(request)
    form = request.POST
    try:
        if action == "submit":
            lifecycle.submit(user, change_id)
        elif action == "approve":
            lifecycle.approve(
                user, change_id, form.get("comment", ""), form.get("emergency_justification", "")
            )
        elif action == "reject":
            lifecycle.reject(user, change_id, form.get("comment", ""))
        elif action == "start":
            lifecycle.start(user, change_id, form.get("emergency_justification", ""))
        elif action == "complete":
            lifecycle.complete(user, change_id, form.get("outcome", ""), form.get("notes", ""))
        elif action == "review":
            lifecycle.review(user, change_id, form.get("notes", ""))
        elif action == "close":
            lifecycle.close(user, change_id)
        elif action == "cancel":
            lifecycle.cancel(user, change_id, form.get("reason", ""))
        else:
            raise NotFound(f"no action {action[:40]!r} on a change", field="action")
    except CareLineError as exc:
        return _detail(request, change_id, exc)
    return redirect("changes:detail", change_id=change_id)


def _day_start(value: str) -> datetime | None:
    try:
        day = datetime.strptime(value, "%Y-%m-%d")  # noqa: DTZ007  (made aware just below)
    except ValueError:
        return None
    return timezone.make_aware(day)


def change_calendar(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.CHANGES_VIEW)) is not None:
        return denied
    today = timezone.make_aware(datetime.combine(timezone.localdate(), datetime.min.time()))
    start = _day_start(request.GET.get("start", "")) or today
    weeks = 2
    end = start + timedelta(days=7 * weeks)
    context = {
        "days": calendar.days(signed_in(request), start, end),
        "start": start,
        "previous": (start - timedelta(days=7)).date(),
        "next": (start + timedelta(days=7)).date(),
    }
    return render(request, "changes/calendar.html", context)
