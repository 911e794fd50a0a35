"""On-call schedules worked out: daily and weekly rotations, layers with a night restriction
that wraps midnight, overrides over every layer, shift swaps, and daylight-saving changes in
America/New_York (an 08:00 hand-off stays at 08:00; a 02:30 hand-off on the spring-forward
day moves to 03:00, the first instant after the gap). A property checks that shifts() and
on_call() agree on random schedules.

Bad input tried, each leaving nothing stored: a schedule with no layers, a layer with no
people, an unknown time zone, an unknown username, a requester on a rotation, length_days 0
and 29, a restriction from == to, a restriction with one end only, a hand-off that is not
HH:MM, two layers of one name, a duplicate code, an override ending before it starts, a naive
override time, overlapping overrides (409 naming the other), a swap of a period the giver
does not hold, a swap overlapping an override, a responder covering for someone else, an
unknown schedule code (404), a window over 100 days, a year far outside the calendar, and
deleting a schedule an escalation policy still pages (409).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from careline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import AuditEvent, User
from careline.oncall.models import (
    EscalationLevel,
    EscalationPolicy,
    Layer,
    LayerMember,
    Override,
    Schedule,
    TargetKind,
)
from careline.oncall.services import schedule_changes as changes
from careline.oncall.services import schedules
from careline.oncall.services.schedules import Rota, on_call, on_call_from, segments, shifts
from tests.conftest import Hospital

NY = ZoneInfo("America/New_York")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def layer(name: str, members: list[str], **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "length_days": kw.pop("length_days", 1),
        "handoff_time": kw.pop("handoff_time", "08:00"),
        "starts_on": kw.pop("starts_on", date(2027, 1, 4)),
        "members": members,
        **kw,
    }


def make(
    layers: list[dict[str, Any]], code: str = "IT", zone: str = "America/New_York"
) -> Schedule:
    return changes.create_schedule(
        None, code=code, name=f"{code} on call", time_zone=zone, layers=layers
    )


def who(schedule: Schedule, at: datetime) -> str | None:
    found = on_call(schedule, at)
    return found.user.username if found else None


def table(found: list[schedules.Shift]) -> list[tuple[datetime, datetime, str | None, str]]:
    return [(s.start, s.end, s.user.username if s.user else None, s.source) for s in found]


def stored() -> tuple[int, ...]:
    return (
        Schedule.objects.count(),
        Layer.objects.count(),
        LayerMember.objects.count(),
        Override.objects.count(),
        AuditEvent.objects.count(),
    )


# --- rotations ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_daily_rotation_hands_over_at_eight_in_turn(hospital: Hospital) -> None:
    schedule = make([layer("Daily", ["sam", "priya", "helen"])])

    assert who(schedule, ny(2027, 1, 4, 7, 59)) is None  # before the first hand-off
    assert who(schedule, ny(2027, 1, 4, 8, 0)) == "sam"
    assert who(schedule, ny(2027, 1, 5, 7, 59)) == "sam"
    assert who(schedule, ny(2027, 1, 5, 8, 0)) == "priya"
    assert who(schedule, ny(2027, 1, 6, 20, 0)) == "helen"
    assert who(schedule, ny(2027, 1, 7, 8, 0)) == "sam"  # round again
    found = on_call(schedule, ny(2027, 1, 5, 12, 0))
    assert found is not None
    assert (found.starts_at, found.ends_at, found.source) == (
        ny(2027, 1, 5, 8, 0),
        ny(2027, 1, 6, 8, 0),
        "Daily",
    )


@pytest.mark.django_db
def test_a_weekly_rotation_gives_each_person_a_week(hospital: Hospital) -> None:
    schedule = make([layer("Weekly", ["sam", "priya"], length_days=7, handoff_time="09:00")])

    found = shifts(schedule, ny(2027, 1, 1, 0, 0), ny(2027, 1, 25, 0, 0))

    assert table(found) == [
        (ny(2027, 1, 1, 0, 0), ny(2027, 1, 4, 9, 0), None, ""),
        (ny(2027, 1, 4, 9, 0), ny(2027, 1, 11, 9, 0), "sam", "Weekly"),
        (ny(2027, 1, 11, 9, 0), ny(2027, 1, 18, 9, 0), "priya", "Weekly"),
        (ny(2027, 1, 18, 9, 0), ny(2027, 1, 25, 0, 0), "sam", "Weekly"),
    ]
    assert who(schedule, ny(2027, 2, 8, 9, 0)) == "priya"  # shift 5


@pytest.mark.django_db
def test_a_night_layer_wrapping_midnight_sits_over_the_day_layer(hospital: Hospital) -> None:
    schedule = make(
        [
            layer("Days", ["sam"], length_days=7),
            layer(
                "Nights",
                ["priya", "helen"],
                handoff_time="19:00",
                restrict_from="19:00",
                restrict_to="07:00",
            ),
        ]
    )

    assert who(schedule, ny(2027, 1, 5, 12, 0)) == "sam"
    assert who(schedule, ny(2027, 1, 5, 19, 0)) == "helen"  # shift 1 of Nights
    assert who(schedule, ny(2027, 1, 6, 3, 0)) == "helen"  # after midnight, same night
    assert who(schedule, ny(2027, 1, 6, 7, 0)) == "sam"
    assert who(schedule, ny(2027, 1, 6, 19, 0)) == "priya"
    assert table(shifts(schedule, ny(2027, 1, 5, 6, 0), ny(2027, 1, 6, 20, 0))) == [
        (ny(2027, 1, 5, 6, 0), ny(2027, 1, 5, 7, 0), "priya", "Nights"),
        (ny(2027, 1, 5, 7, 0), ny(2027, 1, 5, 19, 0), "sam", "Days"),
        (ny(2027, 1, 5, 19, 0), ny(2027, 1, 6, 7, 0), "helen", "Nights"),
        (ny(2027, 1, 6, 7, 0), ny(2027, 1, 6, 19, 0), "sam", "Days"),
        (ny(2027, 1, 6, 19, 0), ny(2027, 1, 6, 20, 0), "priya", "Nights"),
    ]
    # Sam on both layers at once is one stretch, naming both sources.
    changes.replace_schedule(
        None,
        "IT",
        name="IT",
        time_zone="America/New_York",
        layers=[
            layer("Days", ["sam"], length_days=7),
            layer(
                "Nights", ["sam"], handoff_time="19:00", restrict_from="19:00", restrict_to="07:00"
            ),
        ],
    )
    merged = shifts(schedule, ny(2027, 1, 5, 6, 0), ny(2027, 1, 6, 20, 0))
    assert table(merged) == [
        (ny(2027, 1, 5, 6, 0), ny(2027, 1, 6, 20, 0), "sam", "Nights + Days"),
    ]


@pytest.mark.django_db
def test_an_override_beats_every_layer(hospital: Hospital) -> None:
    schedule = make(
        [
            layer("Days", ["sam"], length_days=7),
            layer("Nights", ["priya"], restrict_from="19:00", restrict_to="07:00"),
        ]
    )
    changes.add_override(
        hospital.manager,
        "IT",
        user="alex",
        starts_at=ny(2027, 1, 5, 18, 0),
        ends_at=ny(2027, 1, 5, 21, 0),
        reason="Priya at a course",
    )

    found = on_call(schedule, ny(2027, 1, 5, 20, 0))
    assert found is not None
    assert (found.user.username, found.source) == ("alex", "override")
    assert (found.starts_at, found.ends_at) == (ny(2027, 1, 5, 18, 0), ny(2027, 1, 5, 21, 0))
    assert table(shifts(schedule, ny(2027, 1, 5, 17, 0), ny(2027, 1, 5, 22, 0))) == [
        (ny(2027, 1, 5, 17, 0), ny(2027, 1, 5, 18, 0), "sam", "Days"),
        (ny(2027, 1, 5, 18, 0), ny(2027, 1, 5, 21, 0), "alex", "override"),
        (ny(2027, 1, 5, 21, 0), ny(2027, 1, 5, 22, 0), "priya", "Nights"),
    ]


@pytest.mark.django_db
def test_a_swap_trades_two_periods_and_is_undone_whole(hospital: Hospital) -> None:
    schedule = make([layer("Daily", ["sam", "priya"])])
    sams_tuesday = (ny(2027, 1, 6, 8, 0), ny(2027, 1, 7, 8, 0))  # shift 2: sam
    priyas_thursday = (ny(2027, 1, 7, 8, 0), ny(2027, 1, 8, 8, 0))  # shift 3: priya

    halves = changes.swap_shifts(
        hospital.engineer,  # sam arranges it himself
        "IT",
        first=changes.SwapHalf("sam", *sams_tuesday),
        second=changes.SwapHalf("priya", *priyas_thursday),
    )

    assert len(halves) == 2
    assert halves[0].swap_id == halves[1].swap_id is not None
    assert who(schedule, ny(2027, 1, 6, 12, 0)) == "priya"
    assert who(schedule, ny(2027, 1, 7, 12, 0)) == "sam"
    assert on_call(schedule, ny(2027, 1, 7, 12, 0)).source == "override"  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(action="schedule.swap.create").count() == 2

    changes.delete_override(hospital.agent, "IT", halves[0].pk)  # priya may undo it too

    assert not Override.objects.exists()
    assert who(schedule, ny(2027, 1, 6, 12, 0)) == "sam"


@pytest.mark.django_db
def test_a_swap_is_refused_unless_each_gives_what_they_hold(hospital: Hospital) -> None:
    make([layer("Daily", ["sam", "priya"])])
    before = stored()

    with pytest.raises(InvalidInput) as refused:
        changes.swap_shifts(
            None,
            "IT",
            # 2027-01-07 is priya's day, not sam's.
            first=changes.SwapHalf("sam", ny(2027, 1, 7, 8, 0), ny(2027, 1, 7, 12, 0)),
            second=changes.SwapHalf("priya", ny(2027, 1, 8, 8, 0), ny(2027, 1, 8, 12, 0)),
        )
    assert refused.value.field == "first.starts_at"
    assert "sam is not on call" in refused.value.message
    assert "priya is" in refused.value.message
    assert stored() == before

    changes.add_override(
        None, "IT", user="helen", starts_at=ny(2027, 1, 6, 9, 0), ends_at=ny(2027, 1, 6, 10, 0)
    )
    before = stored()
    with pytest.raises(Conflict) as overlapping:
        changes.swap_shifts(
            None,
            "IT",
            first=changes.SwapHalf("sam", ny(2027, 1, 6, 8, 0), ny(2027, 1, 6, 12, 0)),
            second=changes.SwapHalf("priya", ny(2027, 1, 7, 8, 0), ny(2027, 1, 7, 12, 0)),
        )
    assert "helen" in overlapping.value.message
    with pytest.raises(Forbidden):
        changes.swap_shifts(  # an auditor may not arrange a swap
            hospital.auditor,
            "IT",
            first=changes.SwapHalf("sam", ny(2027, 1, 8, 8, 0), ny(2027, 1, 8, 12, 0)),
            second=changes.SwapHalf("priya", ny(2027, 1, 9, 8, 0), ny(2027, 1, 9, 12, 0)),
        )
    assert stored() == before


# --- daylight saving ------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_eight_oclock_hand_off_stays_at_eight_across_both_changes(hospital: Hospital) -> None:
    schedule = make([layer("Daily", ["sam", "priya"], starts_on=date(2027, 3, 1))])

    spring = on_call(schedule, ny(2027, 3, 13, 12, 0))  # Saturday, EST
    assert spring is not None
    assert spring.starts_at == utc(2027, 3, 13, 13, 0)  # 08:00 EST
    assert spring.ends_at == utc(2027, 3, 14, 12, 0)  # 08:00 EDT
    assert spring.ends_at - spring.starts_at == timedelta(hours=23)
    assert spring.ends_at.astimezone(NY).time() == time(8, 0)

    fall = on_call(schedule, ny(2027, 11, 6, 12, 0))  # Saturday, EDT
    assert fall is not None
    assert fall.starts_at == utc(2027, 11, 6, 12, 0)  # 08:00 EDT
    assert fall.ends_at == utc(2027, 11, 7, 13, 0)  # 08:00 EST
    assert fall.ends_at - fall.starts_at == timedelta(hours=25)
    assert fall.ends_at.astimezone(NY).time() == time(8, 0)
    assert who(schedule, utc(2027, 11, 7, 12, 59)) == fall.user.username
    assert who(schedule, utc(2027, 11, 7, 13, 0)) != fall.user.username


@pytest.mark.django_db
def test_a_hand_off_in_the_spring_gap_moves_to_the_first_instant_after_it(
    hospital: Hospital,
) -> None:
    schedule = make(
        [layer("Daily", ["sam", "priya"], handoff_time="02:30", starts_on=date(2027, 3, 1))]
    )

    found = shifts(schedule, ny(2027, 3, 13, 12, 0), ny(2027, 3, 15, 12, 0))

    # 02:30 does not exist on 14 March: the clocks go from 01:59:59 EST to 03:00 EDT.
    assert [s.start for s in found[1:]] == [utc(2027, 3, 14, 7, 0), utc(2027, 3, 15, 6, 30)]
    assert found[1].start.astimezone(NY).time() == time(3, 0)
    assert found[2].start.astimezone(NY).time() == time(2, 30)
    assert who(schedule, utc(2027, 3, 14, 6, 59, 59)) != who(schedule, utc(2027, 3, 14, 7, 0))
    # On the fall-back day a 01:30 hand-off is the first of the two 01:30s (EDT).
    assert schedules.localise(date(2027, 11, 7), time(1, 30), NY) == utc(2027, 11, 7, 5, 30)


# --- the property: shifts() and on_call() tell one story -------------------------------------

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
PEOPLE = [User(pk=n, username=f"person{n}") for n in range(1, 5)]
WALL = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def rotas(draw: Any) -> Rota:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    schedule = Schedule(code="P", time_zone=zone.key)
    layers = []
    for position in range(1, draw(st.integers(1, 3)) + 1):
        restricted = draw(st.booleans())
        opens, closes = draw(WALL), draw(WALL)
        if restricted and opens == closes:
            restricted = False
        found = Layer(
            schedule=schedule,
            pk=position,
            position=position,
            name=f"L{position}",
            length_days=draw(st.sampled_from([1, 2, 7, 28])),
            handoff_time=draw(WALL),
            starts_on=draw(st.dates(date(2026, 12, 1), date(2027, 12, 1))),
            restrict_from=opens if restricted else None,
            restrict_to=closes if restricted else None,
        )
        members = draw(st.lists(st.sampled_from(PEOPLE), min_size=0, max_size=3))
        layers.append((found, members))
    overrides = []
    cursor = datetime(2027, 1, 1, tzinfo=UTC)
    for n in range(draw(st.integers(0, 3))):
        starts = cursor + timedelta(minutes=draw(st.integers(0, 60 * 24 * 120)))
        ends = starts + timedelta(minutes=draw(st.integers(1, 60 * 24 * 3)))
        overrides.append(
            Override(pk=n + 1, user=draw(st.sampled_from(PEOPLE)), starts_at=starts, ends_at=ends)
        )
        cursor = ends
    layers.sort(key=lambda pair: pair[0].position, reverse=True)
    return Rota(schedule=schedule, zone=zone, layers=layers, overrides=overrides)


@settings(max_examples=120, deadline=None, database=None)
@given(
    rota=rotas(),
    # hypothesis takes naive bounds and attaches the zone itself.
    start=st.datetimes(
        datetime(2026, 11, 1),  # noqa: DTZ001
        datetime(2028, 3, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    length=st.integers(1, 60 * 24 * 20),  # minutes
    points=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=6),
)
def test_shifts_are_contiguous_and_agree_with_on_call(
    rota: Rota, start: datetime, length: int, points: list[float]
) -> None:
    end = start + timedelta(minutes=length)
    found = segments(rota, start, end)

    assert found[0].start == start
    assert found[-1].end == end
    for shift in found:
        assert shift.start < shift.end
    for a, b in itertools.pairwise(found):
        assert a.end == b.start  # contiguous, no overlap
        assert (a.user.pk if a.user else None) != (b.user.pk if b.user else None)  # merged
    for point in points:
        at = start + timedelta(minutes=int(length * point))
        holder = next(s for s in found if s.start <= at < s.end)
        answer = on_call_from(rota, at)
        if holder.user is None:
            assert answer is None
            continue
        assert answer is not None
        assert answer.user.pk == holder.user.pk
        assert answer.source in holder.sources
        if holder.start > start:
            assert answer.starts_at == holder.start
        if holder.end < end:
            assert answer.ends_at == holder.end


# --- cost -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_on_call_reads_a_fixed_number_of_queries(
    hospital: Hospital, django_assert_num_queries: Any
) -> None:
    make(
        [
            layer("Days", ["sam"], length_days=7),
            layer("Nights", ["priya", "helen"], restrict_from="19:00", restrict_to="07:00"),
            layer("Weekend", ["alex"], length_days=7, restrict_from="00:00", restrict_to="06:00"),
        ]
    )
    changes.add_override(
        None, "IT", user="alex", starts_at=ny(2027, 1, 5, 9), ends_at=ny(2027, 1, 5, 10)
    )
    with django_assert_num_queries(4):
        loaded = schedules.load_schedule("IT")
    with django_assert_num_queries(0):
        for hour in range(48):
            on_call(loaded, ny(2027, 1, 5, 0) + timedelta(hours=hour))
    plain = Schedule.objects.get(code="IT")
    with django_assert_num_queries(3):
        assert who(plain, ny(2027, 1, 5, 9, 30)) == "alex"


# --- changes and bad input ------------------------------------------------------------------


@pytest.mark.django_db
def test_creating_and_replacing_a_schedule_is_audited(hospital: Hospital) -> None:
    schedule = changes.create_schedule(
        hospital.manager,
        code="IT",
        name="IT on call",
        time_zone="America/New_York",
        layers=[layer("Weekly", ["sam", "priya"], length_days=7)],
    )
    created = AuditEvent.objects.get(action="schedule.create")
    assert created.actor_name == "helen"
    assert created.after["layers"][0]["members"] == ["sam", "priya"]

    changes.replace_schedule(
        hospital.manager,
        "IT",
        name="IT first line",
        time_zone="Europe/London",
        layers=[layer("Daily", ["helen"])],
    )
    schedule.refresh_from_db()
    assert (schedule.name, schedule.time_zone) == ("IT first line", "Europe/London")
    assert list(schedule.layers.values_list("name", flat=True)) == ["Daily"]
    assert LayerMember.objects.count() == 1
    changed = AuditEvent.objects.get(action="schedule.update")
    assert changed.before["layers"][0]["name"] == "Weekly"
    assert changed.after["layers"][0]["members"] == ["helen"]


BAD_SCHEDULES = [
    ({"layers": []}, "layers", "at least one layer"),
    ({"layers": [layer("Daily", [])]}, "layers[0].members", "at least one person"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "IANA time zone"),
    ({"layers": [layer("Daily", ["sam", "bob"])]}, "layers[0].members", "no user is named 'bob'"),
    ({"layers": [layer("Daily", ["maria"])]}, "layers[0].members", "cannot answer pages"),
    (
        {"layers": [layer("Daily", ["sam"], length_days=0)]},
        "layers[0].length_days",
        "between 1 and 28 (got 0)",
    ),
    ({"layers": [layer("Daily", ["sam"], length_days=29)]}, "layers[0].length_days", "(got 29)"),
    (
        {"layers": [layer("Nights", ["sam"], restrict_from="19:00", restrict_to="19:00")]},
        "layers[0].restrict_to",
        "must differ from restrict_from",
    ),
    (
        {"layers": [layer("Nights", ["sam"], restrict_from="19:00")]},
        "layers[0].restrict_to",
        "both",
    ),
    ({"layers": [layer("Daily", ["sam"], handoff_time="8 am")]}, "layers[0].handoff_time", "HH:MM"),
    (
        {"layers": [layer("Daily", ["sam"], handoff_time="24:00")]},
        "layers[0].handoff_time",
        "HH:MM",
    ),
    ({"layers": [layer("A", ["sam"]), layer("a", ["priya"])]}, "layers[1].name", "named 'a'"),
    ({"layers": [layer("Override", ["sam"])]}, "layers[0].name", "overrides"),
    (
        {"layers": [layer("Daily", ["sam"], starts_on="3027-01-01")]},
        "layers[0].starts_on",
        "between",
    ),
    ({"code": "it on call"}, "code", "upper-case"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field", "words"), BAD_SCHEDULES)
def test_a_bad_schedule_is_refused_naming_the_field(
    hospital: Hospital, change: dict[str, Any], field: str, words: str
) -> None:
    before = stored()
    spec: dict[str, Any] = {
        "code": "IT",
        "name": "IT on call",
        "time_zone": "America/New_York",
        "layers": [layer("Daily", ["sam"])],
        **change,
    }

    with pytest.raises(InvalidInput) as refused:
        changes.create_schedule(hospital.manager, **spec)

    assert refused.value.field == field
    assert words in refused.value.message
    assert stored() == before


@pytest.mark.django_db
def test_duplicate_codes_unknown_codes_and_engineers_are_refused(hospital: Hospital) -> None:
    make([layer("Daily", ["sam"])])
    before = stored()
    with pytest.raises(Conflict):
        make([layer("Daily", ["priya"])])
    with pytest.raises(NotFound):
        changes.replace_schedule(
            None, "NOPE", name="x", time_zone="UTC", layers=[layer("D", ["sam"])]
        )
    with pytest.raises(NotFound):
        schedules.load_schedule("NOPE")
    with pytest.raises(Forbidden):
        changes.create_schedule(
            hospital.engineer, code="X", name="X", time_zone="UTC", layers=[layer("D", ["sam"])]
        )
    with pytest.raises(Forbidden):
        changes.delete_schedule(hospital.engineer, "IT")
    assert stored() == before


@pytest.mark.django_db
def test_bad_overrides_are_refused_and_nothing_is_stored(hospital: Hospital) -> None:
    make([layer("Daily", ["sam", "priya"])])
    first = changes.add_override(
        None, "IT", user="helen", starts_at=ny(2027, 1, 5, 9), ends_at=ny(2027, 1, 5, 17)
    )
    before = stored()

    with pytest.raises(Conflict) as overlapping:
        changes.add_override(
            None, "IT", user="alex", starts_at=ny(2027, 1, 5, 16), ends_at=ny(2027, 1, 5, 18)
        )
    assert f"override {first.pk}" in overlapping.value.message
    assert "helen" in overlapping.value.message
    with pytest.raises(InvalidInput) as backwards:
        changes.add_override(
            None, "IT", user="alex", starts_at=ny(2027, 1, 6, 9), ends_at=ny(2027, 1, 6, 8)
        )
    assert backwards.value.field == "ends_at"
    with pytest.raises(InvalidInput) as naive:
        changes.add_override(
            None,
            "IT",
            user="alex",
            starts_at=datetime(2027, 1, 6, 9),  # noqa: DTZ001  (naive on purpose)
            ends_at=ny(2027, 1, 6, 10),
        )
    assert naive.value.field == "starts_at"
    with pytest.raises(InvalidInput) as unknown:
        changes.add_override(
            None, "IT", user="bob", starts_at=ny(2027, 1, 6, 9), ends_at=ny(2027, 1, 6, 10)
        )
    assert unknown.value.field == "user"
    with pytest.raises(InvalidInput):
        changes.add_override(
            None, "IT", user="alex", starts_at=ny(2027, 1, 6, 9), ends_at=ny(9999, 12, 31, 23)
        )
    with pytest.raises(Forbidden):  # an engineer covers only himself
        changes.add_override(
            hospital.engineer,
            "IT",
            user="priya",
            starts_at=ny(2027, 1, 6, 9),
            ends_at=ny(2027, 1, 6, 10),
        )
    with pytest.raises(Forbidden):  # and removes only his own
        changes.delete_override(hospital.engineer, "IT", first.pk)
    with pytest.raises(NotFound):
        changes.add_override(
            None, "NOPE", user="alex", starts_at=ny(2027, 1, 6, 9), ends_at=ny(2027, 1, 6, 10)
        )
    with pytest.raises(NotFound):
        changes.delete_override(None, "IT", first.pk + 100)
    assert stored() == before

    # Touching end to start is not an overlap.
    changes.add_override(
        None, "IT", user="alex", starts_at=ny(2027, 1, 5, 17), ends_at=ny(2027, 1, 5, 18)
    )


@pytest.mark.django_db
def test_windows_and_instants_are_bounded(hospital: Hospital) -> None:
    schedule = make([layer("Daily", ["sam"])])
    with pytest.raises(InvalidInput) as wide:
        shifts(schedule, ny(2027, 1, 1), ny(2027, 4, 12))
    assert wide.value.field == "end"
    assert "at most 100 days" in wide.value.message
    with pytest.raises(InvalidInput):
        shifts(schedule, ny(2027, 1, 2), ny(2027, 1, 1))
    with pytest.raises(InvalidInput) as far:
        on_call(schedule, datetime(9999, 12, 31, 23, 0, tzinfo=UTC))
    assert far.value.field == "at"
    assert len(shifts(schedule, ny(2027, 1, 1), ny(2027, 4, 11))) == 2  # exactly 100 days


@pytest.mark.django_db
def test_a_schedule_an_escalation_policy_pages_cannot_be_deleted(hospital: Hospital) -> None:
    schedule = make([layer("Daily", ["sam"])])
    policy = EscalationPolicy.objects.create(
        code="EHR-DOWN", name="EHR down", created_at=timezone.now()
    )
    level = EscalationLevel.objects.create(
        policy=policy, position=1, target_kind=TargetKind.SCHEDULE, schedule=schedule
    )
    before = stored()

    with pytest.raises(Conflict) as refused:
        changes.delete_schedule(hospital.manager, "IT")

    assert "EHR-DOWN" in refused.value.message
    assert stored() == before
    level.delete()
    changes.delete_schedule(hospital.manager, "IT")
    assert not Schedule.objects.exists()
    assert not Layer.objects.exists()
    assert AuditEvent.objects.filter(action="schedule.delete", object_id=str(schedule.pk)).exists()
