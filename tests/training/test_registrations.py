"""Registering, the waiting list, cancelling and attendance, at the service level.

Bad input tried: registering twice, registering for a cancelled session and for one that has
started, a nurse registering someone else (403), a deactivated person, cancelling twice,
cancelling someone else's place as a nurse, cancelling after the start, marking attendance
before the start, on a waitlisted place and as a nurse, a walk-in before the start and a
walk-in who already holds a place. Each refusal names the field and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from careline.core.errors import Conflict, Forbidden, InvalidInput
from careline.core.models import AuditEvent
from careline.oncall.models import Notification
from careline.training.models import Registration
from careline.training.services import registrations, sessions
from tests.conftest import Hospital
from tests.training.conftest import STARTS, T0, emails_to, extra_person

pytestmark = pytest.mark.django_db


def statuses(session_id: int) -> dict[str, str]:
    return dict(
        Registration.objects.filter(session_id=session_id).values_list("user__username", "status")
    )


def test_a_full_session_waitlists_and_a_cancellation_promotes_the_first_in_line(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    session = make_session(capacity=2)
    tom, ana = extra_person("tom"), extra_person("ana")
    first = registrations.register(people.nurse, session.pk)
    registrations.register(people.outsider, session.pk)
    clock.shift(timedelta(minutes=1))
    registrations.register(tom, session.pk)
    clock.shift(timedelta(minutes=1))
    registrations.register(ana, session.pk)
    assert statuses(session.pk) == {
        "maria": "registered",
        "olive": "registered",
        "tom": "waitlisted",
        "ana": "waitlisted",
    }
    assert emails_to(tom) == []  # joining the waiting list sends nothing yet

    registrations.cancel_registration(people.nurse, first.pk)

    # Tom joined the list before Ana: he gets the place, and an email saying so.
    assert statuses(session.pk) == {
        "maria": "cancelled",
        "olive": "registered",
        "tom": "registered",
        "ana": "waitlisted",
    }
    [told] = emails_to(tom)
    assert told.subject == "You have a place: EHR essentials for new starters"
    assert "Thu 05 Mar 2026, 09:00-12:00 EST" in told.body
    assert "/training/" in told.body
    assert emails_to(ana) == []
    promoted = AuditEvent.objects.filter(action="training_registration.promote").get()
    assert promoted.summary.startswith("tom moved up from the waiting list")


def test_cancelling_a_waitlisted_place_promotes_nobody(people: Hospital, make_session: Any) -> None:
    session = make_session(capacity=1)
    registrations.register(people.nurse, session.pk)
    queued = registrations.register(people.outsider, session.pk)
    registrations.cancel_registration(people.outsider, queued.pk)
    assert statuses(session.pk) == {"maria": "registered", "olive": "cancelled"}
    assert Notification.objects.count() == 0


def test_registering_again_after_cancelling_goes_to_the_back_of_the_queue(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    session = make_session(capacity=1)
    mine = registrations.register(people.nurse, session.pk)
    clock.shift(timedelta(minutes=1))
    registrations.register(people.outsider, session.pk)  # waitlisted
    registrations.cancel_registration(people.nurse, mine.pk)  # Olive moves up
    clock.shift(timedelta(minutes=1))
    again = registrations.register(people.nurse, session.pk)
    assert again.pk == mine.pk  # the same row, re-used
    assert (again.status, again.requested_at) == ("waitlisted", T0 + timedelta(minutes=2))
    assert statuses(session.pk) == {"maria": "waitlisted", "olive": "registered"}


def test_refusals_name_the_field_and_change_nothing(people: Hospital, make_session: Any) -> None:
    session = make_session()
    registrations.register(people.nurse, session.pk)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict) as twice:
        registrations.register(people.nurse, session.pk)
    assert (twice.value.field, "already registered" in twice.value.message) == ("user", True)
    with pytest.raises(Forbidden) as other:
        registrations.register(people.nurse, session.pk, people.outsider)
    assert other.value.field == "user"
    people.outsider.is_active = False
    people.outsider.save(update_fields=["is_active"])
    with pytest.raises(InvalidInput) as inactive:
        registrations.register(people.manager, session.pk, people.outsider)
    assert inactive.value.field == "user"
    mine = Registration.objects.get(user=people.nurse)
    with pytest.raises(Forbidden):
        registrations.cancel_registration(people.auditor, mine.pk)
    with pytest.raises(Conflict) as early:
        registrations.mark_attendance(people.agent, mine.pk, True)
    assert early.value.field == "attended"
    with pytest.raises(Conflict) as walk_in_early:
        registrations.add_walk_in(people.agent, session.pk, people.engineer)
    assert walk_in_early.value.field == "session"
    assert AuditEvent.objects.count() == events
    assert statuses(session.pk) == {"maria": "registered"}

    registrations.cancel_registration(people.nurse, mine.pk)
    with pytest.raises(Conflict) as cancelled_twice:
        registrations.cancel_registration(people.nurse, mine.pk)
    assert cancelled_twice.value.field == "registration"


def test_no_registration_on_a_cancelled_or_started_session(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    cancelled = make_session(title="Cancelled one")
    sessions.cancel_session(people.manager, cancelled.pk, "Trainer unwell")
    with pytest.raises(Conflict) as refused:
        registrations.register(people.nurse, cancelled.pk)
    assert (refused.value.field, "cancelled" in refused.value.message) == ("session", True)
    session = make_session()
    mine = registrations.register(people.nurse, session.pk)
    clock.move_to(STARTS + timedelta(minutes=5))
    with pytest.raises(Conflict) as late:
        registrations.register(people.outsider, session.pk)
    assert "already started" in late.value.message
    with pytest.raises(Conflict) as late_cancel:
        registrations.cancel_registration(people.nurse, mine.pk)
    assert late_cancel.value.field == "session"


def test_a_manager_or_the_trainer_registers_others_and_they_are_told(
    people: Hospital, make_session: Any
) -> None:
    session = make_session(trainer="maria", capacity=5)  # a nurse educator teaching
    by_manager = registrations.register(people.manager, session.pk, people.outsider)
    by_trainer = registrations.register(people.nurse, session.pk, people.engineer)
    assert by_manager.registered_by == people.manager
    assert by_trainer.registered_by == people.nurse
    [told] = emails_to(people.outsider)
    assert told.subject == "Training booked: EHR essentials for new starters"
    assert "Helen gave you a place on this training session." in told.body
    # A person registering themselves is not emailed about it.
    registrations.register(people.agent, session.pk)
    assert emails_to(people.agent) == []


def test_attendance_once_started_by_trainer_or_manager_and_correctable(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    session = make_session(capacity=1)
    place = registrations.register(people.nurse, session.pk)
    queued = registrations.register(people.outsider, session.pk)
    clock.move_to(STARTS + timedelta(hours=1))
    with pytest.raises(Forbidden) as nurse:
        registrations.mark_attendance(people.nurse, place.pk, True)
    assert nurse.value.field == "attended"
    with pytest.raises(Conflict) as waiting:
        registrations.mark_attendance(people.agent, queued.pk, True)
    assert waiting.value.field == "registration"

    marked = registrations.mark_attendance(people.agent, place.pk, False)  # Priya, the trainer
    assert (marked.attended, marked.marked_by, marked.marked_at) == (
        False,
        people.agent,
        STARTS + timedelta(hours=1),
    )
    corrected = registrations.mark_attendance(people.manager, place.pk, True)
    assert (corrected.attended, corrected.marked_by) == (True, people.manager)
    history = AuditEvent.objects.filter(action="training_registration.attendance").order_by("id")
    assert [(e.before["attended"], e.after["attended"]) for e in history] == [
        (None, False),
        (False, True),
    ]

    # Olive came anyway: a walk-in, attended, though the session was full.
    walk_in = registrations.add_walk_in(people.agent, session.pk, people.outsider)
    assert (walk_in.pk, walk_in.status, walk_in.attended) == (queued.pk, "registered", True)
    with pytest.raises(Conflict) as twice:
        registrations.add_walk_in(people.agent, session.pk, people.nurse)
    assert twice.value.field == "user"


def test_attendance_on_a_cancelled_session_is_refused(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    session = make_session()
    place = registrations.register(people.nurse, session.pk)
    sessions.cancel_session(people.manager, session.pk)
    clock.move_to(STARTS + timedelta(hours=1))
    with pytest.raises(Conflict) as refused:
        registrations.mark_attendance(people.manager, place.pk, True)
    assert (refused.value.field, "cancelled" in refused.value.message) == ("session", True)
    assert Registration.objects.get(pk=place.pk).attended is None
