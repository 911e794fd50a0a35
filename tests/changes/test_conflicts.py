"""Conflicts found on submit: overlapping changes on one service, blackouts (a weekly one
across the daylight-saving change in New York), and on-call cover.

Bad input tried for blackouts: no scope, services and all_services both, an empty or reversed
time range (one-off and weekly), a weekday out of range or named twice, one-off and weekly
at once, neither, an unknown service, an unknown time zone; and a change window that ends
before it starts. Each refused naming the field, nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from careline.changes.models import Blackout, Change
from careline.changes.services import blackouts, conflicts, lifecycle
from careline.core import cached, services
from careline.core.errors import CareLineError, InvalidInput
from careline.oncall.models import EscalationLevel, LayerMember
from tests.conftest import Hospital
from tests.oncall.paging_setup import set_up

pytestmark = pytest.mark.django_db


def kinds(change: Change) -> list[str]:
    change.refresh_from_db()
    return [c["kind"] for c in change.conflicts]


def test_overlapping_change_on_the_same_service(make_change: Any, hospital: Hospital) -> None:
    set_up(hospital)
    first = make_change()
    lifecycle.submit(hospital.agent, first.pk)
    assert kinds(first) == []
    second = make_change(
        title="Rotate EHR certificates",
        planned_start=datetime(2026, 2, 10, 4, 30, tzinfo=UTC),
        planned_end=datetime(2026, 2, 10, 6, 0, tzinfo=UTC),
    )
    lifecycle.submit(hospital.agent, second.pk)
    assert kinds(second) == ["overlap"]
    assert first.number in second.conflicts[0]["message"]
    printing = make_change(services=["PRINT"], title="Printer firmware")
    lifecycle.submit(hospital.agent, printing.pk)
    assert kinds(printing) == []
    # Back to back is not an overlap.
    after = make_change(
        planned_start=datetime(2026, 2, 10, 6, 0, tzinfo=UTC),
        planned_end=datetime(2026, 2, 10, 7, 0, tzinfo=UTC),
    )
    lifecycle.submit(hospital.agent, after.pk)
    assert kinds(after) == []


@pytest.mark.parametrize(
    ("start", "hit"),
    [
        # Friday 6 March 2026, New York on EST (UTC-5).
        (datetime(2026, 3, 6, 11, 30, tzinfo=UTC), False),  # 06:30 local
        (datetime(2026, 3, 6, 12, 30, tzinfo=UTC), True),  # 07:30 local
        # Monday 9 March 2026, the day after clocks went forward: EDT (UTC-4).
        (datetime(2026, 3, 9, 10, 30, tzinfo=UTC), False),  # 06:30 local
        (datetime(2026, 3, 9, 11, 30, tzinfo=UTC), True),  # 07:30 local
        (datetime(2026, 3, 9, 21, 30, tzinfo=UTC), True),  # 17:30 local: the last half hour
        # Saturday: no theatre blackout at weekends.
        (datetime(2026, 3, 7, 15, 0, tzinfo=UTC), False),
    ],
)
def test_weekly_theatre_blackout_keeps_local_hours_across_dst(
    make_change: Any, hospital: Hospital, start: datetime, hit: bool
) -> None:
    services.create_service(None, code="THEATRE", name="Theatre management", tier=1)
    blackouts.create_blackout(
        hospital.manager,
        name="Theatre hours",
        services=["THEATRE"],
        weekdays=[0, 1, 2, 3, 4],
        start_time=time(7, 0),
        end_time=time(18, 0),
        time_zone="America/New_York",
        reason="Theatres in session",
    )
    change = make_change(
        services=["THEATRE"], planned_start=start, planned_end=start + timedelta(minutes=25)
    )
    assert ("blackout" in [c["kind"] for c in conflicts.find(change)]) is hit


def test_all_services_blackout_touches_every_change(make_change: Any, hospital: Hospital) -> None:
    change = make_change(services=["PRINT"])
    blackouts.create_blackout(
        hospital.admin,
        name="Regulator inspection",
        all_services=True,
        starts_at=change.planned_start,
        ends_at=change.planned_end,
    )
    found = conflicts.find(change)
    assert [c["kind"] for c in found if c["kind"] == "blackout"] == ["blackout"]
    assert "Regulator inspection" in found[0]["message"]


def test_no_on_call_cover_is_a_conflict(make_change: Any, hospital: Hospital) -> None:
    no_route = make_change()
    assert [c["message"] for c in conflicts.find(no_route)] == ["no P2 escalation route for EHR"]
    oncall = set_up(hospital)
    cached.clear()  # the routes are kept per process; these were just written
    assert conflicts.find(no_route) == []  # Sam is on call all week
    LayerMember.objects.filter(layer__schedule=oncall.schedule).delete()
    found = conflicts.find(no_route)
    assert [c["kind"] for c in found] == ["no_cover", "no_cover"]
    assert "nobody on call on IT on call for EHR at the window's start" in found[0]["message"]
    EscalationLevel.objects.filter(target_kind="schedule").delete()
    assert "has no level with an on-call schedule" in conflicts.find(no_route)[0]["message"]


BAD_BLACKOUTS: list[tuple[dict[str, Any], str]] = [
    ({"name": "x", "starts_at": datetime(2026, 1, 1, tzinfo=UTC)}, "services"),
    ({"name": "x", "services": ["EHR"], "all_services": True}, "services"),
    ({"name": "x", "services": ["NOPE"], "weekdays": [0]}, "services"),
    ({"name": "x", "services": ["EHR"]}, "starts_at"),
    (
        {
            "name": "x",
            "services": ["EHR"],
            "starts_at": datetime(2026, 1, 2, tzinfo=UTC),
            "ends_at": datetime(2026, 1, 2, tzinfo=UTC),
        },
        "ends_at",
    ),
    (
        {
            "name": "x",
            "services": ["EHR"],
            "starts_at": datetime(2026, 1, 2, tzinfo=UTC),
            "ends_at": datetime(2026, 1, 1, tzinfo=UTC),
        },
        "ends_at",
    ),
    (
        {"name": "x", "services": ["EHR"], "starts_at": datetime(2026, 1, 2, tzinfo=UTC)},
        "ends_at",
    ),
    (
        {
            "name": "x",
            "services": ["EHR"],
            "weekdays": [0],
            "start_time": time(7),
            "end_time": time(7),
        },
        "end_time",
    ),
    (
        {
            "name": "x",
            "services": ["EHR"],
            "weekdays": [0],
            "start_time": time(18),
            "end_time": time(7),
        },
        "end_time",
    ),
    (
        {
            "name": "x",
            "services": ["EHR"],
            "weekdays": [7],
            "start_time": time(7),
            "end_time": time(8),
        },
        "weekdays",
    ),
    (
        {
            "name": "x",
            "services": ["EHR"],
            "weekdays": [1, 1],
            "start_time": time(7),
            "end_time": time(8),
        },
        "weekdays",
    ),
    ({"name": "x", "services": ["EHR"], "weekdays": [1], "end_time": time(8)}, "start_time"),
    (
        {
            "name": "x",
            "services": ["EHR"],
            "weekdays": [1],
            "start_time": time(7),
            "end_time": time(8),
            "starts_at": datetime(2026, 1, 2, tzinfo=UTC),
        },
        "weekdays",
    ),
    (
        {
            "name": "x",
            "services": ["EHR"],
            "weekdays": [1],
            "start_time": time(7),
            "end_time": time(8),
            "time_zone": "Mars/Olympus",
        },
        "time_zone",
    ),
    ({"name": " ", "services": ["EHR"], "weekdays": [1]}, "name"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_BLACKOUTS)
def test_bad_blackouts_are_refused_naming_the_field(
    hospital: Hospital, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(CareLineError) as bad:
        blackouts.create_blackout(hospital.manager, **fields)
    assert bad.value.field == field
    assert Blackout.objects.count() == 0


def test_a_change_window_that_ends_before_it_starts(make_change: Any) -> None:
    with pytest.raises(InvalidInput) as bad:
        make_change(planned_end=datetime(2026, 2, 10, 2, 0, tzinfo=UTC))
    assert bad.value.field == "planned_end"
    assert Change.objects.count() == 0
