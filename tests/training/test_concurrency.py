"""Capacity holds when many people press "Register" for the last places at once.

Twelve people register for a three-place session from twelve connections at the same moment:
exactly three get a place and nine join the waiting list, in one line. PostgreSQL only: there
the session row's lock is what serialises them (SQLite's single writer does it by itself, and
the test database there lives in one connection's memory).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careline.core.models import ClinicalService, User
from careline.training.models import Registration, TrainingSession
from careline.training.services import registrations, sessions
from tests.conftest import Hospital
from tests.training.conftest import STARTS

PEOPLE = 12
PLACES = 3


@pytest.fixture
def committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[TrainingSession]:
    """A session and its would-be trainees committed for every connection to see, removed
    afterwards (outside the usual rolled-back test transaction). Everything is done as
    CareLine itself (actor None): an audit event naming a person would keep that account in
    the database for good, and the audit trail refuses deletion."""
    if connection.vendor != "postgresql":
        pytest.skip("the row lock under test is PostgreSQL's; SQLite has one writer at a time")
    # pytest-django creates the test database only for tests that ask for `db`; the test
    # below does, so this one never writes to a real database.
    assert str(connection.settings_dict["NAME"]).startswith("test_"), "no test database"
    with django_db_blocker.unblock():
        service = ClinicalService.objects.create(code="RACE-TRN", name="Race training", tier=3)
        trainer = User.objects.create(username="race-trainer", role="agent")
        for n in range(PEOPLE):
            User.objects.create(username=f"race-{n:02d}", role="requester")
        session = sessions.create_session(
            None,
            service=service.code,
            title="Last places",
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=1),
            trainer=trainer.username,
            capacity=PLACES,
            place="Education Centre",
        )
        try:
            yield session
        finally:
            Registration.objects.filter(session=session).delete()
            session.delete()
            User.objects.filter(username__startswith="race-").delete()
            service.delete()


def test_twelve_at_once_for_three_places(
    committed: TrainingSession, django_db_blocker: Any
) -> None:
    start = threading.Barrier(PEOPLE)
    failures: list[BaseException] = []

    def press_register(n: int) -> None:
        try:
            person = User.objects.get(username=f"race-{n:02d}")
            start.wait(10)
            registrations.register(None, committed.pk, person)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=press_register, args=(n,)) for n in range(PEOPLE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert failures == []
        rows = list(Registration.objects.filter(session=committed).values_list("status", flat=True))
    assert len(rows) == PEOPLE
    assert rows.count("registered") == PLACES
    assert rows.count("waitlisted") == PEOPLE - PLACES


def test_registering_locks_the_session_row(people: Hospital, make_session: Any) -> None:
    """The lock the race above relies on: the session row, and only it, FOR UPDATE."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE takes the whole database's write lock instead")
    session = make_session()
    with CaptureQueriesContext(connection) as queries:
        registrations.register(people.nurse, session.pk)
    locks = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    assert len(locks) == 1
    assert locks[0].endswith('FOR UPDATE OF "training_trainingsession"')
