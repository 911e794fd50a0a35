"""The schedule pages rendered by the test client: who is on call now, a schedule's fortnight
day by day with its layers and overrides and the form to add one, the calendar-link page,
and the iCalendar feed read back with the icalendar library. Also the demo schedule.

Bad input tried: a requester opening the pages (403), an unknown schedule (404), a `start`
that is not a date (422, today shown), an override form ending before it starts and one with
no time at all (422, nothing stored), an engineer covering for someone else (403, nothing
stored), an unknown or revoked feed token (plain 404).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.test import Client

from careline.core import services
from careline.core.models import User
from careline.oncall import demo
from careline.oncall.models import CalendarFeed, Override, Schedule
from careline.oncall.services import schedule_changes as changes
from careline.oncall.services import schedule_feed, schedules
from tests.conftest import PASSWORD, Hospital

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
NOW = "2027-01-05T12:00:00-05:00"  # a Tuesday, Sam's week


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rota(hospital: Hospital) -> Schedule:
    return changes.create_schedule(
        None,
        code="IT",
        name="IT on call",
        time_zone="America/New_York",
        layers=[
            {
                "name": "Weekly",
                "length_days": 7,
                "handoff_time": "09:00",
                "starts_on": date(2027, 1, 4),
                "members": ["sam", "priya"],
            }
        ],
    )


def test_who_is_on_call_now_names_the_person_until_when_and_who_is_next(
    rota: Schedule, hospital: Hospital
) -> None:
    with time_machine.travel(NOW, tick=False):
        page = signed_in(hospital.agent).get("/oncall/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "IT on call" in text
    assert "<strong>Sam</strong> until Mon 11 Jan 09:00" in text
    assert "Next: Priya from Mon 11 Jan 09:00" in text
    assert 'href="/oncall/"' in text  # the navigation item


def test_a_schedule_page_lists_a_fortnight_day_by_day(rota: Schedule, hospital: Hospital) -> None:
    changes.add_override(
        None,
        "IT",
        user="helen",
        starts_at=datetime(2027, 1, 6, 12, 0, tzinfo=NY),
        ends_at=datetime(2027, 1, 6, 14, 0, tzinfo=NY),
        reason="Sam in theatre go-live",
    )
    with time_machine.travel(NOW, tick=False):
        page = signed_in(hospital.auditor).get("/oncall/schedules/IT/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Tuesday 5 January" in text
    assert "Monday 18 January" in text
    assert "Tuesday 19 January" not in text  # 14 days
    assert "Hands over weekly at 09:00" in text
    assert "Sam, Priya" in text
    assert "Sam in theatre go-live" in text
    assert "12:00\u201314:00</span> <strong>Helen</strong>" in text
    assert "Add an override" not in text  # an auditor changes nothing
    assert "Remove</button>" not in text

    spring = signed_in(hospital.agent).get("/oncall/schedules/IT/", {"start": "2027-03-14"})
    assert "Sunday 14 March" in spring.content.decode()
    assert "Cover this schedule myself" in spring.content.decode()
    assert (
        signed_in(hospital.agent).get("/oncall/schedules/IT/", {"start": "soon"}).status_code == 422
    )
    assert signed_in(hospital.agent).get("/oncall/schedules/NOPE/").status_code == 404


def test_requesters_see_no_schedule_pages(rota: Schedule, hospital: Hospital) -> None:
    maria = signed_in(hospital.nurse)
    assert maria.get("/oncall/").status_code == 403
    assert maria.get("/oncall/schedules/IT/").status_code == 403
    assert 'href="/oncall/"' not in maria.get("/").content.decode()


def test_an_engineer_covers_himself_through_the_form(rota: Schedule, hospital: Hospital) -> None:
    sam = signed_in(hospital.engineer)
    form = {"user": "sam", "starts_at": "2027-01-12T09:00", "ends_at": "2027-01-12T17:00"}

    backwards = sam.post("/oncall/schedules/IT/overrides/", {**form, "ends_at": "2027-01-12T08:00"})
    assert backwards.status_code == 422
    assert "must be after starts_at" in backwards.content.decode()
    blank = sam.post("/oncall/schedules/IT/overrides/", {**form, "starts_at": ""})
    assert blank.status_code == 422
    assert "must be a date and time" in blank.content.decode()
    for_priya = sam.post("/oncall/schedules/IT/overrides/", {**form, "user": "priya"})
    assert for_priya.status_code == 403
    assert not Override.objects.exists()

    added = sam.post("/oncall/schedules/IT/overrides/", form)
    assert added.status_code == 302
    assert added["Location"] == "/oncall/schedules/IT/?start=2027-01-12"
    override = Override.objects.get()
    # The form's times are read on the schedule's clock.
    assert override.starts_at == datetime(2027, 1, 12, 14, 0, tzinfo=UTC)
    assert override.created_by == hospital.engineer
    shown = sam.get(added["Location"]).content.decode()
    assert "Sam covers Tue 12 Jan 09:00 to Tue 12 Jan 17:00." in shown

    removed = sam.post(f"/oncall/schedules/IT/overrides/{override.pk}/remove/")
    assert removed.status_code == 302
    assert not Override.objects.exists()


def _events(body: bytes) -> list[Any]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_a_person_reads_their_shifts_in_a_calendar_feed(rota: Schedule, hospital: Hospital) -> None:
    changes.add_override(
        None,
        "IT",
        user="sam",
        starts_at=datetime(2027, 1, 12, 9, 0, tzinfo=NY),
        ends_at=datetime(2027, 1, 12, 17, 0, tzinfo=NY),
    )
    sam = signed_in(hospital.engineer)
    assert "no calendar link yet" in sam.get("/oncall/calendar/").content.decode()
    made = sam.post("/oncall/calendar/")
    assert made.status_code == 200
    url = made.context["url"]
    assert url.startswith("http")
    assert "/oncall/feed/" in url
    assert url.endswith(".ics")
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert CalendarFeed.objects.get(user=hospital.engineer).digest == schedule_feed.feed_digest(
        secret
    )
    assert secret not in str(list(CalendarFeed.objects.values()))
    path = url.split("://", 1)[1].split("/", 1)[1]

    with time_machine.travel(NOW, tick=False):
        feed = Client().get(f"/{path}")  # no sign-in: the token is the credential
        again = Client().get(f"/{path}")
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    events = _events(feed.content)
    starts = [e.decoded("DTSTART") for e in events]
    # Sam's weeks from 4 January (shift 0, 2, 4, ...) until 180 days ahead, and the override.
    assert starts[0] == datetime(2027, 1, 4, 14, 0, tzinfo=UTC)
    assert datetime(2027, 1, 12, 14, 0, tzinfo=UTC) in starts
    assert len(events) == 14
    week = events[0]
    assert week.decoded("DTEND") - week.decoded("DTSTART") == timedelta(days=7)
    assert str(week["SUMMARY"]) == "On call: IT on call"
    assert "/oncall/schedules/IT/" in str(week["URL"])
    assert [str(e["UID"]) for e in _events(again.content)] == [str(e["UID"]) for e in events]
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert all(s < datetime(2027, 7, 4, tzinfo=UTC) for s in starts)

    assert Client().get("/oncall/feed/not-a-token.ics").status_code == 404
    sam.post("/oncall/calendar/")  # a new link revokes the old
    gone = Client().get(f"/{path}")
    assert gone.status_code == 404
    assert gone["Content-Type"].startswith("text/plain")


def test_the_demo_schedule_loads_once(hospital: Hospital) -> None:
    for username, role in (("engineer", "engineer"), ("manager", "manager")):
        services.create_user(
            None, username=username, role=role, password=PASSWORD, department="NG-IT"
        )
    demo.load()
    demo.load()
    schedule = schedules.load_schedule(demo.CODE)
    (weekly,) = schedule.layers.all()
    assert [m.user.username for m in weekly.members.all()] == ["engineer", "manager"]
    assert weekly.starts_on.weekday() == 0
    assert schedule.time_zone == "America/New_York"
    tuesday_noon = datetime.combine(weekly.starts_on + timedelta(days=1), time(12, 0), NY)
    assert schedules.on_call(schedule, tuesday_noon).user.username == "engineer"  # type: ignore[union-attr]
