"""Planning sessions: validation, editing (capacity, time, place), cancelling, and the demo.

Bad input tried: an end before (and equal to) the start, a session of three weeks, a naive
time, capacity 0, 1001 and "ten", an empty title and place, an unknown service, trainer and
site, a nurse planning a session (403), an unknown field in an edit, lowering capacity below
the people registered, editing or cancelling a cancelled session, cancelling one that has
taken place. Each refusal names the field and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine

from careline.core import services as core_services
from careline.core.errors import CareLineError, Conflict, Forbidden, InvalidInput
from careline.core.models import AuditEvent, ClinicalService, Site
from careline.training import demo
from careline.training.models import Registration, TrainingSession
from careline.training.services import registrations, sessions
from tests.conftest import Hospital
from tests.training.conftest import ENDS, STARTS, T0, emails_to, extra_person

pytestmark = pytest.mark.django_db


def test_a_session_is_planned_with_its_audit_event(people: Hospital, make_session: Any) -> None:
    session = make_session(description="  Signing in, the patient list, charting.  ")
    assert (session.status, session.capacity, session.site.code) == ("scheduled", 3, "NORTH")
    assert session.description == "Signing in, the patient list, charting."
    # Shown in the site's time zone: 14:00 UTC is 09:00 in New York in March (EST).
    assert session.when() == "Thu 05 Mar 2026, 09:00-12:00 EST"
    event = AuditEvent.objects.get(action="training_session.create")
    assert (event.actor, event.object_id) == (people.manager, str(session.pk))
    assert event.after["capacity"] == 3


def test_a_session_without_a_site_is_shown_in_careline_time(
    people: Hospital, make_session: Any, settings: Any
) -> None:
    session = make_session(site=None)
    assert session.time_zone == settings.TIME_ZONE
    assert session.when() == "Thu 05 Mar 2026, 14:00-17:00 UTC"


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"ends_at": STARTS - timedelta(hours=1)}, "ends_at", InvalidInput),
        ({"ends_at": STARTS}, "ends_at", InvalidInput),
        ({"ends_at": STARTS + timedelta(days=21)}, "ends_at", InvalidInput),
        ({"starts_at": datetime(2026, 3, 5, 9, 0)}, "starts_at", InvalidInput),  # noqa: DTZ001
        ({"capacity": 0}, "capacity", InvalidInput),
        ({"capacity": 1001}, "capacity", InvalidInput),
        ({"capacity": "ten"}, "capacity", InvalidInput),
        ({"title": "   "}, "title", InvalidInput),
        ({"place": ""}, "place", InvalidInput),
        ({"service": "NOPE"}, "service", CareLineError),
        ({"trainer": "nobody"}, "trainer", CareLineError),
        ({"site": "MARS"}, "site", CareLineError),
    ],
)
def test_bad_sessions_are_refused_naming_the_field(
    make_session: Any, fields: dict[str, Any], field: str, error: type[CareLineError]
) -> None:
    with pytest.raises(error) as refused:
        make_session(**fields)
    assert refused.value.field == field
    assert refused.value.status in (404, 422)
    assert not TrainingSession.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="training").exists()


def test_only_training_managers_plan_sessions(people: Hospital, make_session: Any) -> None:
    for person in (people.nurse, people.auditor):
        with pytest.raises(Forbidden):
            make_session(actor=person)
    assert make_session(actor=people.agent).trainer == people.agent


def test_capacity_cannot_drop_below_the_people_registered_and_more_places_fill_the_queue(
    people: Hospital, make_session: Any
) -> None:
    session = make_session(capacity=2)
    tom = extra_person("tom")
    for person in (people.nurse, people.outsider, tom):
        registrations.register(person, session.pk)
    with pytest.raises(InvalidInput) as lowered:
        sessions.update_session(people.manager, session.pk, {"capacity": 1})
    assert lowered.value.field == "capacity"
    assert "at least 2" in lowered.value.message
    assert TrainingSession.objects.get(pk=session.pk).capacity == 2

    sessions.update_session(people.manager, session.pk, {"capacity": 3})
    assert Registration.objects.get(user=tom).status == "registered"
    assert [e.subject for e in emails_to(tom)] == [
        "You have a place: EHR essentials for new starters"
    ]


def test_a_new_time_is_emailed_and_reminded_again(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    session = make_session(capacity=1)
    place = registrations.register(people.nurse, session.pk)
    registrations.register(people.outsider, session.pk)  # waiting
    Registration.objects.filter(pk=place.pk).update(reminded_at=T0)
    later = STARTS + timedelta(days=1)
    sessions.update_session(
        people.manager, session.pk, {"starts_at": later, "ends_at": later + timedelta(hours=2)}
    )
    assert Registration.objects.get(pk=place.pk).reminded_at is None
    for person in (people.nurse, people.outsider):
        [moved] = emails_to(person)
        assert moved.subject == "Training moved: EHR essentials for new starters"
        assert "Fri 06 Mar 2026, 09:00-11:00 EST" in moved.body
    # A new title alone tells nobody.
    sessions.update_session(people.manager, session.pk, {"title": "EHR basics"})
    assert len(emails_to(people.nurse)) == 1


def test_edit_refusals(people: Hospital, make_session: Any) -> None:
    session = make_session()
    with pytest.raises(InvalidInput) as unknown:
        sessions.update_session(people.manager, session.pk, {"status": "cancelled"})
    assert unknown.value.field == "status"
    with pytest.raises(InvalidInput) as empty:
        sessions.update_session(people.manager, session.pk, {})
    assert empty.value.field == "body"
    with pytest.raises(InvalidInput) as reversed_window:
        sessions.update_session(people.manager, session.pk, {"ends_at": STARTS})
    assert reversed_window.value.field == "ends_at"
    with pytest.raises(Forbidden):
        sessions.update_session(people.nurse, session.pk, {"title": "Mine now"})
    assert TrainingSession.objects.get(pk=session.pk).ends_at == ENDS


def test_cancelling_tells_everyone_booked_or_waiting(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    session = make_session(capacity=1)
    registrations.register(people.nurse, session.pk)
    registrations.register(people.outsider, session.pk)
    cancelled = sessions.cancel_session(people.manager, session.pk, "Trainer unwell")
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "Trainer unwell")
    for person in (people.nurse, people.outsider):
        [told] = emails_to(person)
        assert told.subject == "Training cancelled: EHR essentials for new starters"
        assert "Reason: Trainer unwell" in told.body
    with pytest.raises(Conflict) as twice:
        sessions.cancel_session(people.manager, session.pk)
    assert twice.value.field == "status"
    with pytest.raises(Conflict) as edit:
        sessions.update_session(people.manager, session.pk, {"capacity": 9})
    assert edit.value.field == "status"

    past = make_session(title="Last week")
    clock.move_to(ENDS + timedelta(minutes=1))
    with pytest.raises(Conflict) as over:
        sessions.cancel_session(people.manager, past.pk)
    assert "already taken place" in over.value.message


def test_the_demo_sessions_load_once(hospital: Hospital) -> None:
    for code, name in (
        ("PACS", "Picture archiving"),
        ("BCMA", "Barcode"),
        ("NURSECALL", "Nurse call"),
    ):
        core_services.create_service(None, code=code, name=name, tier=1)
    for username, role in (
        ("agent", "agent"),
        ("engineer", "engineer"),
        ("nurse.ed", "requester"),
        ("clerk.w4", "requester"),
    ):
        core_services.create_user(
            None,
            username=username,
            role=role,
            password="Correct-Horse-Battery-9",
            department="NG-ED",
        )
    demo.load()
    demo.load()
    assert TrainingSession.objects.count() == 5
    assert set(TrainingSession.objects.values_list("service__code", flat=True)) == {
        "EHR",
        "PACS",
        "BCMA",
        "NURSECALL",
    }
    assert set(
        Registration.objects.filter(attended=True).values_list("user__username", flat=True)
    ) == {"nurse.ed", "clerk.w4"}
    assert Site.objects.get(code="NORTH").training_sessions.count() == 5
    assert ClinicalService.objects.get(code="EHR").training_sessions.count() == 2
