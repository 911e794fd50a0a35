"""Training fixtures: the clock stopped on a Monday at noon in New York, everyone with an
email address, and make_session() for an EHR session on Thursday morning taught by Priya."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from careline.core import services as core_services
from careline.core.models import User
from careline.oncall.models import Notification
from careline.training.models import TrainingSession
from careline.training.services import sessions
from tests.conftest import Hospital

# Monday 2 March 2026, 12:00 in New York (17:00 UTC).
T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
# Thursday 5 March 2026, 09:00-12:00 in New York.
STARTS = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
ENDS = STARTS + timedelta(hours=3)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as clock:
        yield clock


@pytest.fixture
def clock(_clock: time_machine.Traveller) -> time_machine.Traveller:
    return _clock


@pytest.fixture
def people(hospital: Hospital) -> Hospital:
    """The hospital's people, each with an email address (reminders go by email)."""
    for user in hospital.all().values():
        user.email = f"{user.username}@northgate.example"
        user.save(update_fields=["email"])
    return hospital


def extra_person(username: str, department: str = "NG-ED") -> User:
    return core_services.create_user(
        None,
        username=username,
        role="requester",
        password="Correct-Horse-Battery-9",
        department=department,
        email=f"{username}@northgate.example",
    )


@pytest.fixture
def make_session(people: Hospital) -> Any:
    """make_session(**fields): an EHR session at Northgate, Thursday 09:00-12:00, 3 places."""

    def make(actor: Any = None, **fields: Any) -> TrainingSession:
        data: dict[str, Any] = {
            "service": "EHR",
            "title": "EHR essentials for new starters",
            "starts_at": STARTS,
            "ends_at": ENDS,
            "trainer": "priya",
            "capacity": 3,
            "place": "Education Centre, room 2",
            "site": "NORTH",
            **fields,
        }
        return sessions.create_session(actor or people.manager, **data)

    return make


def emails_to(user: User) -> list[Notification]:
    return list(Notification.objects.filter(to=user.email, channel="email").order_by("id"))
