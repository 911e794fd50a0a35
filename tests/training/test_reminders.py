"""The reminder loop: CARELINE_TRAINING_REMINDER_HOURS before a session, each person holding a
place is emailed once; never a cancelled session, a cancelled place or the waiting list.

The loop's function is called directly with the clock stopped; the outbox rows are what a
dispatcher would send.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync

from careline.engine.runner import REGISTRY
from careline.oncall.models import Notification
from careline.training import reminders
from careline.training.models import Registration
from careline.training.services import registrations, sessions
from tests.conftest import Hospital
from tests.training.conftest import STARTS, emails_to

pytestmark = pytest.mark.django_db


def reminder_rows() -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(subject__startswith="Reminder:")
        .order_by("to")
        .values_list("to", "subject")
    )


def test_each_person_with_a_place_is_reminded_once_24_hours_before(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    session = make_session(capacity=2)
    registrations.register(people.nurse, session.pk)
    registrations.register(people.engineer, session.pk)
    registrations.register(people.outsider, session.pk)  # waiting list: never reminded

    clock.move_to(STARTS - timedelta(hours=24, seconds=1))
    assert reminders.run_due(STARTS - timedelta(hours=24, seconds=1)) == 0

    due = STARTS - timedelta(hours=24)
    clock.move_to(due)
    assert reminders.run_due(due) == 2
    subject = "Reminder: EHR essentials for new starters on Thu 05 Mar 2026, 09:00-12:00 EST"
    assert reminder_rows() == [
        ("maria@northgate.example", subject),
        ("sam@northgate.example", subject),
    ]
    [to_maria] = emails_to(people.nurse)
    assert "Where: Education Centre, room 2" in to_maria.body
    assert "Trainer: Priya" in to_maria.body
    assert (to_maria.object_type, to_maria.object_id) == (
        "training.trainingsession",
        str(session.pk),
    )
    assert set(
        Registration.objects.filter(status="registered").values_list("reminded_at", flat=True)
    ) == {due}

    # The next tick, and a second engine's, find nothing left to do.
    clock.shift(timedelta(minutes=1))
    assert reminders.run_due(due + timedelta(minutes=1)) == 0
    assert len(reminder_rows()) == 2


def test_no_reminder_for_a_cancelled_session_or_place(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    cancelled = make_session(title="Cancelled session")
    registrations.register(people.nurse, cancelled.pk)
    sessions.cancel_session(people.manager, cancelled.pk, "Room flooded")
    kept = make_session(title="Kept session")
    gone = registrations.register(people.engineer, kept.pk)
    registrations.cancel_registration(people.engineer, gone.pk)
    registrations.register(people.agent, kept.pk)
    clock.move_to(STARTS - timedelta(hours=2))
    assert reminders.run_due(STARTS - timedelta(hours=2)) == 1
    assert [to for to, _ in reminder_rows()] == ["priya@northgate.example"]


def test_a_session_already_started_is_not_reminded(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    # The engine was off through the whole window: a reminder after the start helps nobody.
    session = make_session()
    registrations.register(people.nurse, session.pk)
    clock.move_to(STARTS + timedelta(minutes=1))
    assert reminders.run_due(STARTS + timedelta(minutes=1)) == 0
    assert reminder_rows() == []


def test_the_window_follows_the_setting_and_a_moved_session_is_reminded_again(
    people: Hospital, make_session: Any, clock: time_machine.Traveller, settings: Any
) -> None:
    settings.TRAINING_REMINDER_HOURS = 2
    session = make_session()
    registrations.register(people.nurse, session.pk)
    clock.move_to(STARTS - timedelta(hours=3))
    assert reminders.run_due(STARTS - timedelta(hours=3)) == 0
    clock.move_to(STARTS - timedelta(hours=2))
    assert reminders.run_due(STARTS - timedelta(hours=2)) == 1
    later = STARTS + timedelta(days=1)
    sessions.update_session(
        people.manager, session.pk, {"starts_at": later, "ends_at": later + timedelta(hours=1)}
    )
    clock.move_to(later - timedelta(hours=1))
    assert reminders.run_due(later - timedelta(hours=1)) == 1
    assert [s for _, s in reminder_rows()] == [
        "Reminder: EHR essentials for new starters on Thu 05 Mar 2026, 09:00-12:00 EST",
        "Reminder: EHR essentials for new starters on Fri 06 Mar 2026, 09:00-10:00 EST",
    ]


def test_the_loop_is_registered_with_the_engine_and_its_tick_sends(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    [spec] = [s for s in REGISTRY if s.name == "training-reminders"]
    assert spec.interval_s == reminders.INTERVAL_SECONDS
    session = make_session()
    registrations.register(people.nurse, session.pk)
    clock.move_to(STARTS - timedelta(hours=1))
    async_to_sync(spec.tick)()
    assert len(reminder_rows()) == 1
    assert asyncio.iscoroutinefunction(spec.tick)
