"""On-call API: Schedules, rotations, overrides, shift swaps, who is on call now."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from careline.core.callers import signed_in
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.core.schemas import InSchema
from careline.oncall.models import Layer, Override, Schedule
from careline.oncall.services import schedule_changes as changes
from careline.oncall.services import schedules

router = Router(tags=["on-call"])

HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


# --- schemas --------------------------------------------------------------------------------


class LayerIn(InSchema):
    name: str = Field(max_length=100, description="shown as the source of its shifts")
    length_days: int = Field(7, ge=1, le=28, description="days per shift: 1 daily, 7 weekly")
    handoff_time: str = Field(
        pattern=HH_MM, description="hand-off, HH:MM on the schedule's wall clock"
    )
    starts_on: date = Field(description="local date of the first hand-off (the first member's)")
    restrict_from: str | None = Field(
        None, pattern=HH_MM, description="covers only from this time of day (HH:MM)"
    )
    restrict_to: str | None = Field(
        None,
        pattern=HH_MM,
        description="until this time of day; before restrict_from wraps midnight",
    )
    members: list[str] = Field(description="usernames in rotation order", max_length=50)


class ScheduleChangeIn(InSchema):
    name: str = Field(max_length=200)
    time_zone: str = Field(max_length=64, description="IANA time zone, e.g. America/New_York")
    description: str = Field("", max_length=5000)
    layers: list[LayerIn] = Field(
        description="bottom first: a later layer wins wherever it covers", max_length=10
    )


class ScheduleIn(ScheduleChangeIn):
    code: str = Field(max_length=32, description="short upper-case code, e.g. IT-ONCALL")


class OnCallPerson(Schema):
    username: str
    display_name: str


class LayerOut(Schema):
    position: int
    name: str
    length_days: int
    handoff_time: str
    starts_on: date
    restrict_from: str | None
    restrict_to: str | None
    members: list[OnCallPerson]


class OverrideOut(Schema):
    id: int
    user: OnCallPerson
    starts_at: datetime
    ends_at: datetime
    reason: str
    swap_id: UUID | None


class ScheduleOut(Schema):
    code: str
    name: str
    description: str
    time_zone: str
    layers: list[LayerOut]
    overrides: list[OverrideOut] = Field(description="overrides running now or later")


class OnCallShiftOut(Schema):
    start: datetime
    end: datetime
    user: OnCallPerson | None = Field(description="null: nobody is on call")
    source: str = Field(description='"override", a layer\'s name, or several joined by " + "')


class OnCallShiftQuery(InSchema):
    start: datetime | None = Field(None, description="default now; no offset = schedule's zone")
    end: datetime | None = Field(None, description="default start + 7 days; at most 100 days")


class OverrideIn(InSchema):
    user: str = Field(max_length=150, description="username of the person covering")
    starts_at: datetime = Field(description="with its offset, e.g. 2027-03-14T08:00-04:00")
    ends_at: datetime
    reason: str = Field("", max_length=300)


class SwapHalfIn(InSchema):
    user: str = Field(max_length=150, description="gives away starts_at to ends_at")
    starts_at: datetime
    ends_at: datetime


class SwapIn(InSchema):
    first: SwapHalfIn = Field(description="the second person covers this period")
    second: SwapHalfIn = Field(description="the first person covers this period")
    reason: str = Field("", max_length=300)


class SwapOut(Schema):
    swap_id: UUID
    overrides: list[OverrideOut]


class NowQuery(InSchema):
    schedule: str = Field(max_length=32, description="schedule code")
    at: datetime | None = Field(None, description="default now; no offset = schedule's zone")


class OnCallNowOut(Schema):
    schedule: str
    at: datetime
    user: OnCallPerson | None
    since: datetime | None = Field(description="null: further back than 64 days")
    until: datetime | None = Field(description="null: further ahead than 64 days")
    source: str | None


# --- shaping answers ------------------------------------------------------------------------


def _person(user: User | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"username": user.username, "display_name": user.display_name}


def _hh_mm(value: Any) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _layer_out(layer: Layer) -> dict[str, Any]:
    return {
        "position": layer.position,
        "name": layer.name,
        "length_days": layer.length_days,
        "handoff_time": _hh_mm(layer.handoff_time),
        "starts_on": layer.starts_on,
        "restrict_from": _hh_mm(layer.restrict_from),
        "restrict_to": _hh_mm(layer.restrict_to),
        "members": [_person(m.user) for m in layer.members.all()],
    }


def _override_out(override: Override) -> dict[str, Any]:
    return {
        "id": override.pk,
        "user": _person(override.user),
        "starts_at": override.starts_at,
        "ends_at": override.ends_at,
        "reason": override.reason,
        "swap_id": override.swap_id,
    }


def schedule_out(schedule: Schedule) -> dict[str, Any]:
    """A schedule read with schedules_with_relations(since=now)."""
    return {
        "code": schedule.code,
        "name": schedule.name,
        "description": schedule.description,
        "time_zone": schedule.time_zone,
        "layers": [_layer_out(layer) for layer in schedule.layers.all()],
        "overrides": [_override_out(o) for o in schedule.overrides.all()],
    }


def _fresh(code: str) -> dict[str, Any]:
    return schedule_out(schedules.load_schedule(code, since=timezone.now()))


# --- schedules ------------------------------------------------------------------------------


@router.get("/oncall/schedules", response=list[ScheduleOut], summary="On-call schedules")
def list_schedules(request: HttpRequest) -> list[dict[str, Any]]:
    require(signed_in(request), Perm.ONCALL_VIEW)
    return [schedule_out(s) for s in schedules.schedules_with_relations(since=timezone.now())]


@router.post("/oncall/schedules", response={201: ScheduleOut}, summary="Create a schedule")
def create_schedule(request: HttpRequest, payload: ScheduleIn) -> Status[dict[str, Any]]:
    schedule = changes.create_schedule(signed_in(request), **payload.dict())
    return Status(201, _fresh(schedule.code))


@router.get("/oncall/schedules/{code}", response=ScheduleOut, summary="One schedule")
def get_schedule(request: HttpRequest, code: str) -> dict[str, Any]:
    require(signed_in(request), Perm.ONCALL_VIEW)
    return _fresh(code)


@router.put(
    "/oncall/schedules/{code}",
    response=ScheduleOut,
    summary="Replace a schedule's name, description, time zone and layers",
)
def replace_schedule(request: HttpRequest, code: str, payload: ScheduleChangeIn) -> dict[str, Any]:
    changes.replace_schedule(signed_in(request), code, **payload.dict())
    return _fresh(code)


@router.delete(
    "/oncall/schedules/{code}",
    response={204: None},
    summary="Delete a schedule no escalation policy names",
)
def delete_schedule(request: HttpRequest, code: str) -> HttpResponse:
    changes.delete_schedule(signed_in(request), code)
    return HttpResponse(status=204)


@router.get(
    "/oncall/schedules/{code}/shifts",
    response=list[OnCallShiftOut],
    summary="Who is on call over a window, as consecutive shifts",
)
def list_shifts(
    request: HttpRequest, code: str, window: Query[OnCallShiftQuery]
) -> list[dict[str, Any]]:
    require(signed_in(request), Perm.ONCALL_VIEW)
    schedule = schedules.schedule_by_code(code)
    zone = schedules.zone_of(schedule)
    start = schedules.as_utc(window.start or timezone.now(), zone, "start")
    end = window.end if window.end is not None else start + timedelta(days=7)
    return [
        {"start": s.start, "end": s.end, "user": _person(s.user), "source": s.source}
        for s in schedules.shifts(schedule, start, end)
    ]


# --- overrides and swaps --------------------------------------------------------------------


@router.post(
    "/oncall/schedules/{code}/overrides",
    response={201: OverrideOut},
    summary="Someone covers the schedule for a while",
)
def add_override(request: HttpRequest, code: str, payload: OverrideIn) -> Status[dict[str, Any]]:
    override = changes.add_override(signed_in(request), code, **payload.dict())
    return Status(201, _override_out(override))


@router.delete(
    "/oncall/schedules/{code}/overrides/{override_id}",
    response={204: None},
    summary="Remove an override (both halves of a swap)",
)
def delete_override(request: HttpRequest, code: str, override_id: int) -> HttpResponse:
    changes.delete_override(signed_in(request), code, override_id)
    return HttpResponse(status=204)


@router.post(
    "/oncall/schedules/{code}/swaps",
    response={201: SwapOut},
    summary="Two people trade two periods",
)
def swap_shifts(request: HttpRequest, code: str, payload: SwapIn) -> Status[dict[str, Any]]:
    halves = changes.swap_shifts(
        signed_in(request),
        code,
        first=changes.SwapHalf(**payload.first.dict()),
        second=changes.SwapHalf(**payload.second.dict()),
        reason=payload.reason,
    )
    return Status(
        201, {"swap_id": halves[0].swap_id, "overrides": [_override_out(o) for o in halves]}
    )


# --- who is on call -------------------------------------------------------------------------


@router.get("/oncall/now", response=OnCallNowOut, summary="Who is on call now, or at a time")
def who_is_on_call(request: HttpRequest, query: Query[NowQuery]) -> dict[str, Any]:
    require(signed_in(request), Perm.ONCALL_VIEW)
    schedule = schedules.schedule_by_code(query.schedule, field="schedule")
    at = schedules.as_utc(query.at or timezone.now(), schedules.zone_of(schedule), "at")
    found = schedules.on_call(schedule, at)
    return {
        "schedule": schedule.code,
        "at": at,
        "user": _person(found.user if found else None),
        "since": found.starts_at if found else None,
        "until": found.ends_at if found else None,
        "source": found.source if found else None,
    }
