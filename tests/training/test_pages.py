"""The training pages through the test client: the list with its Register buttons, a session
with roster and attendance for those who run it, the planning form, and the matrix.

Bad input tried through the forms: registering twice (409 shown on the page), an unknown
action (404), attendance "perhaps", a registration id "abc", a form with the end before the
start, capacity "ten" and an unknown trainer (422 each, nothing saved), a nurse opening the
form and the matrix (403), an unknown department on the matrix (404).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from careline.core.models import User
from careline.training.models import Registration, TrainingSession
from careline.training.services import registrations
from tests.conftest import PASSWORD, Hospital
from tests.training.conftest import STARTS

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_nurse_registers_from_the_list(people: Hospital, make_session: Any) -> None:
    session = make_session(capacity=1)
    nurse = signed_in(people.nurse)
    page = nurse.get("/training/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<a href="/training/" aria-current="page">Training</a>' in html
    assert "Thu 05 Mar 2026, 09:00-12:00 EST" in html
    assert "1</strong> of 1 places left" in html
    assert "Plan a session" not in html

    done = nurse.post(f"/training/{session.pk}/register/", {"from": "list"})
    assert done.status_code == 302
    assert done["Location"] == f"/training/#session-{session.pk}"
    assert "You have a place." in nurse.get("/training/").content.decode()

    again = nurse.post(f"/training/{session.pk}/register/", {"from": "list"})
    assert again.status_code == 409
    assert "maria is already registered" in again.content.decode()

    olive = signed_in(people.outsider)
    assert "Join the waiting list" in olive.get("/training/").content.decode()
    olive.post(f"/training/{session.pk}/register/")
    detail = olive.get(f"/training/{session.pk}/").content.decode()
    assert "You are on the waiting list" in detail
    assert 'id="roster"' not in detail


def test_the_trainer_marks_attendance_on_the_session_page(
    people: Hospital, make_session: Any, clock: time_machine.Traveller
) -> None:
    session = make_session()
    place = registrations.register(people.nurse, session.pk)
    priya = signed_in(people.agent)
    before = priya.get(f"/training/{session.pk}/").content.decode()
    assert 'data-user="maria"' in before
    assert "Cancel<span" in before
    assert "Attended<span" not in before

    clock.move_to(STARTS + timedelta(minutes=30))
    priya = signed_in(people.agent)  # the idle session lapsed while the clock moved
    bad = priya.post(
        f"/training/{session.pk}/attendance/", {"registration": place.pk, "attended": "perhaps"}
    )
    assert bad.status_code == 422
    assert "attended: must be yes or no" in bad.content.decode()
    bad_id = priya.post(
        f"/training/{session.pk}/attendance/", {"registration": "abc", "attended": "yes"}
    )
    assert bad_id.status_code == 422
    unknown = priya.post(f"/training/{session.pk}/teleport/")
    assert unknown.status_code == 404
    marked = priya.post(
        f"/training/{session.pk}/attendance/", {"registration": place.pk, "attended": "yes"}
    )
    assert marked.status_code == 302
    assert Registration.objects.get(pk=place.pk).attended is True
    walk_in = priya.post(f"/training/{session.pk}/walk-in/", {"user": "olive"})
    assert walk_in.status_code == 302
    page = priya.get(f"/training/{session.pk}/").content.decode()
    assert "Someone came without a place" in page

    matrix = priya.get("/training/trained/", {"service": "EHR"})
    assert matrix.status_code == 200
    html = matrix.content.decode()
    assert 'data-user="maria"' in html
    assert 'data-user="olive"' in html
    assert "✔ 5 Mar 2026" in html
    assert priya.get("/training/trained/", {"department": "NOPE"}).status_code == 404
    assert signed_in(people.nurse).get("/training/trained/").status_code == 403
    record = signed_in(people.nurse).get("/training/").content.decode()
    assert "EHR essentials for new starters, 5 Mar 2026" in record


def test_a_manager_plans_a_session_in_the_sites_local_time(people: Hospital) -> None:
    helen = signed_in(people.manager)
    assert helen.get("/training/new/").status_code == 200
    form = {
        "service": "EHR",
        "title": "EHR for night staff",
        "starts_at": "2026-03-10T19:00",
        "ends_at": "2026-03-10T21:00",
        "site": "RIVER",
        "place": "Riverside library",
        "trainer": "sam",
        "capacity": "6",
        "description": "",
    }
    for change in ({"ends_at": "2026-03-10T18:00"}, {"capacity": "ten"}, {"trainer": "ghost"}):
        refused = helen.post("/training/new/", {**form, **change})
        assert refused.status_code in (404, 422)
        assert 'role="alert"' in refused.content.decode()
    assert not TrainingSession.objects.exists()
    saved = helen.post("/training/new/", form)
    assert saved.status_code == 302
    session = TrainingSession.objects.get()
    # 19:00 in Chicago (CDT from 8 March) is 00:00 UTC the next day.
    assert session.starts_at.isoformat() == "2026-03-11T00:00:00+00:00"
    assert session.when() == "Tue 10 Mar 2026, 19:00-21:00 CDT"
    edit = helen.get(f"/training/{session.pk}/edit/").content.decode()
    assert 'value="2026-03-10T19:00"' in edit
    moved = helen.post(f"/training/{session.pk}/edit/", {**form, "starts_at": "2026-03-10T18:00"})
    assert moved.status_code == 302
    assert TrainingSession.objects.get().when() == "Tue 10 Mar 2026, 18:00-21:00 CDT"
    cancelled = helen.post(f"/training/{session.pk}/cancel-session/", {"reason": "Snow"})
    assert cancelled.status_code == 302
    assert TrainingSession.objects.get().status == "cancelled"
    nurse = signed_in(people.nurse)
    assert nurse.get("/training/new/").status_code == 403
    assert nurse.post(f"/training/{session.pk}/cancel-session/").status_code == 403
    assert "Cancelled: Snow" in nurse.get("/training/").content.decode()
