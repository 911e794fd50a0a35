"""What a change's window runs into: other changes on its services, clinical blackouts,
and hours when nobody is on call to pick up what goes wrong."""

from __future__ import annotations

from datetime import datetime

from careline.changes.choices import ChangeState, ConflictKind
from careline.changes.models import Change
from careline.changes.services import blackouts
from careline.core.models import ClinicalService
from careline.oncall.models import EscalationLevel
from careline.oncall.services.policies import match_route
from careline.oncall.services.schedules import on_call

# States in which a change still holds its window.
ACTIVE = (
    ChangeState.SUBMITTED,
    ChangeState.APPROVED,
    ChangeState.SCHEDULED,
    ChangeState.IMPLEMENTING,
)


def _conflict(kind: str, message: str) -> dict[str, str]:
    return {"kind": str(kind), "message": message}


def _overlaps(
    change: Change, service_ids: list[int], start: datetime, end: datetime
) -> list[dict[str, str]]:
    others = (
        Change.objects.filter(
            services__in=service_ids,
            state__in=ACTIVE,
            planned_start__lt=end,
            planned_end__gt=start,
        )
        .exclude(pk=change.pk)
        .distinct()
        .order_by("planned_start", "id")
    )
    return [
        _conflict(
            ConflictKind.OVERLAP,
            f"{other.number} ({other.title}) on the same service from "
            f"{other.planned_start:%Y-%m-%d %H:%M} to {other.planned_end:%Y-%m-%d %H:%M} UTC",
        )
        for other in others
    ]


def _blackouts(service_ids: list[int], start: datetime, end: datetime) -> list[dict[str, str]]:
    return [
        _conflict(
            ConflictKind.BLACKOUT,
            f"blackout {p.blackout.name} ({blackouts.describe(p.blackout)}) "
            f"from {p.starts_at:%Y-%m-%d %H:%M} to {p.ends_at:%Y-%m-%d %H:%M} UTC",
        )
        for p in blackouts.touching(service_ids, start, end)
    ]


def _cover(services: list[ClinicalService], start: datetime, end: datetime) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    # With no service named, the catch-all route is the one that would be paged.
    targets: list[ClinicalService | None] = [*services] or [None]
    for service in targets:
        label = service.code if service is not None else "any service"
        route = match_route("P2", service.pk if service is not None else None)
        if route is None:
            found.append(_conflict(ConflictKind.NO_COVER, f"no P2 escalation route for {label}"))
            continue
        level = (
            EscalationLevel.objects.filter(policy_id=route.policy_id, schedule__isnull=False)
            .select_related("schedule")
            .order_by("position")
            .first()
        )
        if level is None or level.schedule is None:
            found.append(
                _conflict(
                    ConflictKind.NO_COVER,
                    f"the P2 policy for {label} has no level with an on-call schedule",
                )
            )
            continue
        for at, moment in ((start, "start"), (end, "end")):
            if on_call(level.schedule, at) is None:
                found.append(
                    _conflict(
                        ConflictKind.NO_COVER,
                        f"nobody on call on {level.schedule.name} for {label} at the window's "
                        f"{moment} ({at:%Y-%m-%d %H:%M} UTC)",
                    )
                )
    return found


def find(change: Change) -> list[dict[str, str]]:
    """The conflicts of the change's planned window, as warnings to store on it."""
    start, end = change.planned_start, change.planned_end
    if start is None or end is None:
        return []
    services = list(change.services.order_by("code"))
    service_ids = [s.pk for s in services]
    return [
        *_overlaps(change, service_ids, start, end),
        *_blackouts(service_ids, start, end),
        *_cover(services, start, end),
    ]
