"""Changes to on-call schedules: each in one transaction with its audit event.

Whoever holds ONCALL_MANAGE may change any schedule. Covering for a colleague is everyday
work, so a person with ONCALL_RESPOND may add or remove an override or a swap in which they
are one of the people. `actor=None` is CareLine itself (the demo loader, tests).
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, has_perm, require
from careline.core.services import clean_code, clean_name
from careline.oncall.models import (
    EscalationLevel,
    Layer,
    LayerMember,
    Override,
    Schedule,
)
from careline.oncall.services.schedules import (
    EARLIEST,
    LATEST,
    MAX_WINDOW,
    OVERRIDE_SOURCE,
    rota_of,
    segments,
)

MAX_LAYERS = 10
MAX_MEMBERS = 50
MAX_DESCRIPTION = 5000
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 1, 1)


# --- checking what comes in -----------------------------------------------------------------


def _zone(value: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"must be an IANA time zone such as America/New_York (got {value[:64]!r})",
            field="time_zone",
        ) from None


def _wall_time(value: str | time | None, field: str, *, required: bool) -> time | None:
    if value is None or value == "":
        if required:
            raise InvalidInput("is required (HH:MM)", field=field)
        return None
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = _HH_MM.match(str(value))
    if match is None:
        raise InvalidInput(f"must be a time of day as HH:MM (got {str(value)[:20]!r})", field=field)
    return time(int(match[1]), int(match[2]))


def _day(value: str | date, field: str) -> date:
    if isinstance(value, str):
        text = value
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                f"must be a date as YYYY-MM-DD (got {text[:20]!r})", field=field
            ) from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(f"must be between {FIRST_DAY} and {LAST_DAY} (got {value})", field=field)
    return value


def _instant(value: datetime, field: str) -> datetime:
    if timezone.is_naive(value):
        raise InvalidInput(
            "must carry a time zone offset, e.g. 2027-03-14T08:00-04:00", field=field
        )
    if not EARLIEST <= value.replace(tzinfo=UTC) <= LATEST:
        raise InvalidInput(
            f"must be between {EARLIEST:%Y} and {LATEST:%Y} (got {value:%Y-%m-%d})", field=field
        )
    return value.astimezone(UTC)


def _responders(usernames: Sequence[str], field: str) -> list[User]:
    """The named people, in order, each an active account that may answer pages."""
    found = {u.username: u for u in User.objects.filter(username__in=set(usernames))}
    people = []
    for username in usernames:
        user = found.get(username)
        if user is None:
            raise InvalidInput(f"no user is named {username[:150]!r}", field=field)
        if not user.is_active:
            raise InvalidInput(f"the account of {username} is deactivated", field=field)
        if not has_perm(user, Perm.ONCALL_RESPOND):
            raise InvalidInput(
                f"{username} ({user.role}) cannot answer pages, so cannot be on call", field=field
            )
        people.append(user)
    return people


@dataclass(frozen=True)
class _LayerPlan:
    name: str
    length_days: int
    handoff_time: time
    starts_on: date
    restrict_from: time | None
    restrict_to: time | None
    members: list[User]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "length_days": self.length_days,
            "handoff_time": self.handoff_time.strftime("%H:%M"),
            "starts_on": self.starts_on.isoformat(),
            "restrict_from": self.restrict_from.strftime("%H:%M") if self.restrict_from else None,
            "restrict_to": self.restrict_to.strftime("%H:%M") if self.restrict_to else None,
            "members": [u.username for u in self.members],
        }


def _plan_layer(spec: Mapping[str, Any], at: str, taken: set[str]) -> _LayerPlan:
    name = clean_name(str(spec.get("name", "")), f"{at}.name", 100)
    if name.lower() == OVERRIDE_SOURCE or name.lower() in taken:
        raise InvalidInput(f"another layer or the overrides are named {name!r}", field=f"{at}.name")
    taken.add(name.lower())
    length = spec.get("length_days", 7)
    if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= 28:
        raise InvalidInput(f"must be between 1 and 28 (got {length!r})", field=f"{at}.length_days")
    handoff = _wall_time(spec.get("handoff_time"), f"{at}.handoff_time", required=True)
    assert handoff is not None
    restrict_from = _wall_time(spec.get("restrict_from"), f"{at}.restrict_from", required=False)
    restrict_to = _wall_time(spec.get("restrict_to"), f"{at}.restrict_to", required=False)
    if (restrict_from is None) != (restrict_to is None):
        raise InvalidInput(
            "give both restrict_from and restrict_to, or neither", field=f"{at}.restrict_to"
        )
    if restrict_from is not None and restrict_from == restrict_to:
        raise InvalidInput(
            f"must differ from restrict_from (both {restrict_from:%H:%M}); "
            "leave both out for all day",
            field=f"{at}.restrict_to",
        )
    usernames = [str(u).strip() for u in spec.get("members") or []]
    if not usernames:
        raise InvalidInput("a layer needs at least one person", field=f"{at}.members")
    if len(usernames) > MAX_MEMBERS:
        raise InvalidInput(
            f"at most {MAX_MEMBERS} people per layer (got {len(usernames)})", field=f"{at}.members"
        )
    return _LayerPlan(
        name=name,
        length_days=length,
        handoff_time=handoff,
        starts_on=_day(spec.get("starts_on") or "", f"{at}.starts_on"),
        restrict_from=restrict_from,
        restrict_to=restrict_to,
        members=_responders(usernames, f"{at}.members"),
    )


def _plan_layers(layers: Sequence[Mapping[str, Any]]) -> list[_LayerPlan]:
    if not layers:
        raise InvalidInput("a schedule needs at least one layer with people on it", field="layers")
    if len(layers) > MAX_LAYERS:
        raise InvalidInput(f"at most {MAX_LAYERS} layers (got {len(layers)})", field="layers")
    taken: set[str] = set()
    return [_plan_layer(spec, f"layers[{i}]", taken) for i, spec in enumerate(layers)]


def _write_layers(schedule: Schedule, plans: list[_LayerPlan]) -> None:
    # Listed bottom first: a later layer wins wherever it covers.
    for position, plan in enumerate(plans, start=1):
        layer = Layer.objects.create(
            schedule=schedule,
            position=position,
            name=plan.name,
            length_days=plan.length_days,
            handoff_time=plan.handoff_time,
            starts_on=plan.starts_on,
            restrict_from=plan.restrict_from,
            restrict_to=plan.restrict_to,
        )
        LayerMember.objects.bulk_create(
            LayerMember(layer=layer, user=user, position=n) for n, user in enumerate(plan.members)
        )


def _describe_layers(schedule: Schedule) -> list[dict[str, Any]]:
    described = []
    for layer in Layer.objects.filter(schedule=schedule).order_by("position"):
        members = layer.members.select_related("user").order_by("position")
        described.append(
            {
                "name": layer.name,
                "length_days": layer.length_days,
                "handoff_time": layer.handoff_time.strftime("%H:%M"),
                "starts_on": layer.starts_on.isoformat(),
                "restrict_from": layer.restrict_from.strftime("%H:%M")
                if layer.restrict_from
                else None,
                "restrict_to": layer.restrict_to.strftime("%H:%M") if layer.restrict_to else None,
                "members": [m.user.username for m in members],
            }
        )
    return described


def _description(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"must be at most {MAX_DESCRIPTION} characters (got {len(value)})", field="description"
        )
    return value


def _locked(code: str) -> Schedule:
    try:
        return Schedule.objects.select_for_update().get(code=code)
    except Schedule.DoesNotExist:
        raise NotFound(f"no on-call schedule has code {code[:40]!r}", field="code") from None


# --- schedules ------------------------------------------------------------------------------


def create_schedule(
    actor: User | None,
    *,
    code: str,
    name: str,
    time_zone: str,
    layers: Sequence[Mapping[str, Any]],
    description: str = "",
) -> Schedule:
    if actor is not None:
        require(actor, Perm.ONCALL_MANAGE)
    schedule = Schedule(
        code=clean_code(code),
        name=clean_name(name),
        description=_description(description),
        time_zone=_zone(time_zone).key,
        created_at=timezone.now(),
    )
    plans = _plan_layers(layers)
    try:
        with transaction.atomic():
            schedule.save(force_insert=True)
            _write_layers(schedule, plans)
            audit.record(
                "schedule.create",
                actor=actor,
                obj=schedule,
                summary=f"On-call schedule {schedule.code} created",
                after={
                    "code": schedule.code,
                    "name": schedule.name,
                    "time_zone": schedule.time_zone,
                    "layers": [p.describe() for p in plans],
                },
            )
    except IntegrityError:
        raise Conflict(
            f"an on-call schedule with code {schedule.code!r} already exists", field="code"
        ) from None
    return schedule


@transaction.atomic
def replace_schedule(
    actor: User | None,
    code: str,
    *,
    name: str,
    time_zone: str,
    layers: Sequence[Mapping[str, Any]],
    description: str = "",
) -> Schedule:
    """New name, description, zone and layers; the overrides stay."""
    if actor is not None:
        require(actor, Perm.ONCALL_MANAGE)
    schedule = _locked(code)
    before = {
        "name": schedule.name,
        "time_zone": schedule.time_zone,
        "layers": _describe_layers(schedule),
    }
    schedule.name = clean_name(name)
    schedule.description = _description(description)
    schedule.time_zone = _zone(time_zone).key
    plans = _plan_layers(layers)
    schedule.save(update_fields=["name", "description", "time_zone"])
    Layer.objects.filter(schedule=schedule).delete()
    _write_layers(schedule, plans)
    audit.record(
        "schedule.update",
        actor=actor,
        obj=schedule,
        summary=f"On-call schedule {schedule.code} changed",
        before=before,
        after={
            "name": schedule.name,
            "time_zone": schedule.time_zone,
            "layers": [p.describe() for p in plans],
        },
    )
    return schedule


@transaction.atomic
def delete_schedule(actor: User | None, code: str) -> None:
    if actor is not None:
        require(actor, Perm.ONCALL_MANAGE)
    schedule = _locked(code)
    before = {"name": schedule.name, "layers": _describe_layers(schedule)}
    pk = schedule.pk
    try:
        # The collector refuses before it deletes anything, so the transaction stays usable.
        schedule.delete()
    except ProtectedError as exc:
        policies = sorted(
            {
                level.policy.code
                for level in exc.protected_objects
                if isinstance(level, EscalationLevel)
            }
        )
        raise Conflict(
            f"escalation policy {', '.join(policies) or '(unknown)'} still pages this schedule; "
            "change its levels first",
            field="code",
        ) from None
    audit.record(
        "schedule.delete",
        actor=actor,
        object_type="oncall.schedule",
        object_id=str(pk),
        summary=f"On-call schedule {code} deleted",
        before=before,
    )


# --- overrides and swaps --------------------------------------------------------------------


def _may_cover_some(actor: User | None) -> None:
    if actor is not None and not has_perm(actor, Perm.ONCALL_MANAGE):
        require(actor, Perm.ONCALL_RESPOND)


def _may_cover(actor: User | None, people: Sequence[User], what: str) -> None:
    """Managers change anything; a responder only what they are one of the people in."""
    if actor is None or has_perm(actor, Perm.ONCALL_MANAGE):
        return
    require(actor, Perm.ONCALL_RESPOND)
    if all(person.pk != actor.pk for person in people):
        raise Forbidden(
            f"you may only {what} in which you are one of the people "
            f"({Perm.ONCALL_MANAGE} for others)"
        )


def _local_text(instant: datetime, schedule: Schedule) -> str:
    return f"{instant.astimezone(zoneinfo.ZoneInfo(schedule.time_zone)):%Y-%m-%d %H:%M %Z}"


def _refuse_overlap(schedule: Schedule, starts_at: datetime, ends_at: datetime, field: str) -> None:
    other = (
        Override.objects.filter(schedule=schedule, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .select_related("user")
        .order_by("starts_at")
        .first()
    )
    if other is not None:
        raise Conflict(
            f"overlaps override {other.pk} ({other.user.username}, "
            f"{_local_text(other.starts_at, schedule)} to {_local_text(other.ends_at, schedule)})",
            field=field,
        )


def _period(starts_at: datetime, ends_at: datetime, at: str) -> tuple[datetime, datetime]:
    starts_at = _instant(starts_at, f"{at}starts_at")
    ends_at = _instant(ends_at, f"{at}ends_at")
    if ends_at <= starts_at:
        raise InvalidInput(f"must be after {at}starts_at", field=f"{at}ends_at")
    return starts_at, ends_at


def _reason(value: str) -> str:
    value = value.strip()
    if len(value) > 300:
        raise InvalidInput(f"must be at most 300 characters (got {len(value)})", field="reason")
    return value


def _override_after(override: Override) -> dict[str, Any]:
    return {
        "user": override.user.username,
        "starts_at": override.starts_at.isoformat(),
        "ends_at": override.ends_at.isoformat(),
        "reason": override.reason,
        "swap_id": str(override.swap_id) if override.swap_id else None,
    }


@transaction.atomic
def add_override(
    actor: User | None,
    code: str,
    *,
    user: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
) -> Override:
    """`user` covers the schedule from `starts_at` to `ends_at`, over every layer."""
    _may_cover_some(actor)
    schedule = _locked(code)
    (person,) = _responders([user.strip()], "user")
    _may_cover(actor, [person], "add an override")
    starts_at, ends_at = _period(starts_at, ends_at, "")
    reason = _reason(reason)
    _refuse_overlap(schedule, starts_at, ends_at, "starts_at")
    override = Override.objects.create(
        schedule=schedule,
        user=person,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=actor,
        created_at=timezone.now(),
    )
    audit.record(
        "schedule.override.create",
        actor=actor,
        obj=override,
        summary=f"{person.username} covers {schedule.code} from "
        f"{_local_text(starts_at, schedule)} to {_local_text(ends_at, schedule)}",
        after=_override_after(override),
    )
    return override


@transaction.atomic
def delete_override(actor: User | None, code: str, override_id: int) -> list[Override]:
    """Remove an override; a swap is undone whole (both its halves). Returns what went."""
    _may_cover_some(actor)
    schedule = _locked(code)
    override = (
        Override.objects.filter(schedule=schedule, pk=override_id).select_related("user").first()
    )
    if override is None:
        raise NotFound(f"schedule {schedule.code} has no override {override_id}", field="id")
    removed = [override]
    if override.swap_id is not None:
        removed = list(
            Override.objects.filter(schedule=schedule, swap_id=override.swap_id)
            .select_related("user")
            .order_by("starts_at")
        )
    _may_cover(actor, [o.user for o in removed], "remove an override")
    Override.objects.filter(pk__in=[o.pk for o in removed]).delete()
    for gone in removed:
        audit.record(
            "schedule.override.delete",
            actor=actor,
            object_type="oncall.override",
            object_id=str(gone.pk),
            summary=f"Override of {gone.user.username} on {schedule.code} removed",
            before=_override_after(gone),
        )
    return removed


@dataclass(frozen=True)
class SwapHalf:
    """`user` gives away [starts_at, ends_at), which the other person covers."""

    user: str
    starts_at: datetime
    ends_at: datetime


def _gives(
    schedule: Schedule, giver: User, starts_at: datetime, ends_at: datetime, at: str
) -> None:
    if ends_at - starts_at > MAX_WINDOW:
        raise InvalidInput(
            f"a swapped period may be at most {MAX_WINDOW.days} days", field=f"{at}ends_at"
        )
    for shift in segments(rota_of(schedule, since=starts_at), starts_at, ends_at):
        if shift.user is None or shift.user.pk != giver.pk:
            holder = shift.user.username if shift.user is not None else "nobody"
            raise InvalidInput(
                f"{giver.username} is not on call throughout the period they give away "
                f"({holder} is, from {_local_text(shift.start, schedule)})",
                field=f"{at}starts_at",
            )


@transaction.atomic
def swap_shifts(
    actor: User | None, code: str, *, first: SwapHalf, second: SwapHalf, reason: str = ""
) -> list[Override]:
    """Two people trade two periods: each covers the other's, as two overrides sharing a
    swap_id. Each must be on call throughout the period they give away."""
    _may_cover_some(actor)
    schedule = _locked(code)
    (giver,) = _responders([first.user.strip()], "first.user")
    (taker,) = _responders([second.user.strip()], "second.user")
    if giver.pk == taker.pk:
        raise InvalidInput("a swap needs two different people", field="second.user")
    _may_cover(actor, [giver, taker], "swap shifts")
    reason = _reason(reason)
    a_start, a_end = _period(first.starts_at, first.ends_at, "first.")
    b_start, b_end = _period(second.starts_at, second.ends_at, "second.")
    if a_start < b_end and b_start < a_end:
        raise InvalidInput("the two periods overlap", field="second.starts_at")
    _refuse_overlap(schedule, a_start, a_end, "first.starts_at")
    _refuse_overlap(schedule, b_start, b_end, "second.starts_at")
    _gives(schedule, giver, a_start, a_end, "first.")
    _gives(schedule, taker, b_start, b_end, "second.")
    swap_id = uuid.uuid4()
    now = timezone.now()
    reason = reason or f"shift swap of {giver.username} and {taker.username}"
    halves = [
        Override.objects.create(
            schedule=schedule,
            user=covering,
            starts_at=start,
            ends_at=end,
            reason=reason,
            swap_id=swap_id,
            created_by=actor,
            created_at=now,
        )
        for covering, start, end in ((taker, a_start, a_end), (giver, b_start, b_end))
    ]
    for half in halves:
        audit.record(
            "schedule.swap.create",
            actor=actor,
            obj=half,
            summary=f"Shift swap on {schedule.code}: {half.user.username} covers "
            f"{_local_text(half.starts_at, schedule)} to {_local_text(half.ends_at, schedule)}",
            after=_override_after(half),
        )
    return halves
