"""/api/v1/changes, /api/v1/change-templates, /api/v1/blackouts."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from careline.changes.models import Blackout, Change, ChangeTemplate
from careline.changes.schemas import (
    BlackoutIn,
    BlackoutOut,
    ChangeCalendarDayOut,
    ChangeCancelIn,
    ChangeCompleteIn,
    ChangeDecisionIn,
    ChangeFilter,
    ChangeIn,
    ChangeOut,
    ChangePatch,
    ChangeReviewIn,
    ChangeStartIn,
    ChangeSummaryOut,
    ChangeTemplateIn,
    ChangeTemplateOut,
    ChangeVersionIn,
)
from careline.changes.services import blackouts, calendar, changes, lifecycle
from careline.core.callers import signed_in
from careline.core.errors import InvalidInput
from careline.core.permissions import Perm, require

router = Router(tags=["changes"])


def _loaded(request: HttpRequest, change_id: int) -> Change:
    user = signed_in(request)
    return changes.visible(user).prefetch_related(
        "items", "services", "approvals__approver"
    ).filter(pk=change_id).first() or changes.get_change(user, change_id)


@router.post("/changes", response={201: ChangeOut})
def create_change(request: HttpRequest, payload: ChangeIn) -> Status[Change]:
    change = changes.create_change(signed_in(request), payload.dict())
    return Status(201, _loaded(request, change.pk))


@router.get("/changes", response=list[ChangeSummaryOut])
def list_changes(request: HttpRequest, filters: Query[ChangeFilter]) -> QuerySet[Change]:
    found = changes.visible(signed_in(request)).prefetch_related("services")
    if filters.state:
        found = found.filter(state=filters.state)
    if filters.service:
        found = found.filter(services__code=filters.service)
    if filters.start:
        found = found.filter(planned_end__gt=filters.start)
    if filters.end:
        found = found.filter(planned_start__lt=filters.end)
    return found.distinct().order_by("planned_start", "id")[:500]


@router.get("/changes/calendar", response=list[ChangeCalendarDayOut])
def change_calendar(
    request: HttpRequest, start: datetime, end: datetime
) -> list[dict[str, object]]:
    return [
        {"day": d.day.isoformat(), "entries": d.entries}
        for d in calendar.days(signed_in(request), start, end)
    ]


@router.get("/changes/{change_id}", response=ChangeOut)
def get_change(request: HttpRequest, change_id: int) -> Change:
    return _loaded(request, change_id)


@router.patch("/changes/{change_id}", response=ChangeOut)
def patch_change(request: HttpRequest, change_id: int, payload: ChangePatch) -> Change:
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    if not data:
        raise InvalidInput("name at least one field to change", field="body")
    changes.update_change(signed_in(request), change_id, version, data)
    return _loaded(request, change_id)


@router.post("/changes/{change_id}/submit", response=ChangeOut)
def submit(request: HttpRequest, change_id: int, payload: ChangeVersionIn | None = None) -> Change:
    lifecycle.submit(signed_in(request), change_id, payload.version if payload else None)
    return _loaded(request, change_id)


@router.post("/changes/{change_id}/approve", response=ChangeOut)
def approve(request: HttpRequest, change_id: int, payload: ChangeDecisionIn) -> Change:
    lifecycle.approve(
        signed_in(request), change_id, payload.comment, payload.emergency_justification
    )
    return _loaded(request, change_id)


@router.post("/changes/{change_id}/reject", response=ChangeOut)
def reject(request: HttpRequest, change_id: int, payload: ChangeDecisionIn) -> Change:
    lifecycle.reject(signed_in(request), change_id, payload.comment)
    return _loaded(request, change_id)


@router.post("/changes/{change_id}/start", response=ChangeOut)
def start(request: HttpRequest, change_id: int, payload: ChangeStartIn | None = None) -> Change:
    lifecycle.start(
        signed_in(request), change_id, payload.emergency_justification if payload else ""
    )
    return _loaded(request, change_id)


@router.post("/changes/{change_id}/complete", response=ChangeOut)
def complete(request: HttpRequest, change_id: int, payload: ChangeCompleteIn) -> Change:
    lifecycle.complete(signed_in(request), change_id, payload.outcome, payload.notes)
    return _loaded(request, change_id)


@router.post("/changes/{change_id}/review", response=ChangeOut)
def review(request: HttpRequest, change_id: int, payload: ChangeReviewIn) -> Change:
    lifecycle.review(signed_in(request), change_id, payload.notes)
    return _loaded(request, change_id)


@router.post("/changes/{change_id}/close", response=ChangeOut)
def close(request: HttpRequest, change_id: int) -> Change:
    lifecycle.close(signed_in(request), change_id)
    return _loaded(request, change_id)


@router.post("/changes/{change_id}/cancel", response=ChangeOut)
def cancel(request: HttpRequest, change_id: int, payload: ChangeCancelIn) -> Change:
    lifecycle.cancel(signed_in(request), change_id, payload.reason)
    return _loaded(request, change_id)


@router.get("/change-templates", response=list[ChangeTemplateOut])
def list_templates(request: HttpRequest) -> QuerySet[ChangeTemplate]:
    require(signed_in(request), Perm.CHANGES_VIEW)
    return ChangeTemplate.objects.prefetch_related("services")


@router.post("/change-templates", response={201: ChangeTemplateOut})
def create_template(request: HttpRequest, payload: ChangeTemplateIn) -> Status[ChangeTemplate]:
    return Status(201, changes.create_template(signed_in(request), **payload.dict()))


@router.get("/blackouts", response=list[BlackoutOut])
def list_blackouts(request: HttpRequest) -> QuerySet[Blackout]:
    require(signed_in(request), Perm.CHANGES_VIEW)
    return Blackout.objects.prefetch_related("services")


@router.post("/blackouts", response={201: BlackoutOut})
def create_blackout(request: HttpRequest, payload: BlackoutIn) -> Status[Blackout]:
    return Status(201, blackouts.create_blackout(signed_in(request), **payload.dict()))


@router.delete("/blackouts/{blackout_id}", response={204: None})
def delete_blackout(request: HttpRequest, blackout_id: int) -> Status[None]:
    blackouts.delete_blackout(signed_in(request), blackout_id)
    return Status(204, None)
