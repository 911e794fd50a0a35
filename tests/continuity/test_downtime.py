"""Declaring and scheduling downtime: the banner, the departments from the CMDB, the emails
with each department's procedures, paging for an unplanned one, the planned notice counted in
working days (a weekend and a holiday in between), the engine loop, updates, the checklist
and the report's figures.

Bad input tried: an end before the start, unknown service and department codes, no services,
a planned event without an end, closing with an unfinished checklist, ticking an item twice
and an item of another event, an update on a closed event, an unplanned
downtime starting in the future; each leaves nothing changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from careline.continuity import demo, watch
from careline.continuity.models import (
    DowntimeEvent,
    DowntimeProcedure,
    DowntimeStatus,
    DowntimeUpdate,
)
from careline.continuity.services import downtime, report
from careline.continuity.services.downtime import DowntimeDraft
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import AuditEvent, Site
from careline.oncall.models import Notification, Page
from careline.servicedesk.models import Holiday
from tests.conftest import PASSWORD, Hospital
from tests.continuity.setup import set_up
from tests.oncall import paging_setup

T0 = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # a Wednesday


def unplanned(**changes: object) -> DowntimeDraft:
    values: dict[str, object] = {
        "title": "EHR unavailable",
        "kind": "unplanned",
        "services": ["EHR"],
        "starts_at": T0 - timedelta(minutes=10),
        "read_only_access": True,
    }
    values.update(changes)
    return DowntimeDraft(**values)  # type: ignore[arg-type]


def emails_to(address: str) -> list[Notification]:
    return list(Notification.objects.filter(to=address, channel="email").order_by("id"))


def home_page_of_maria() -> str:
    # Signed in afresh: sessions lapse after 15 idle minutes, and the clock jumps days here.
    client = Client()
    assert client.login(username="maria", password=PASSWORD)
    page = client.get("/")
    assert page.status_code == 200
    return str(page.content.decode())


@pytest.fixture
def ward(hospital: Hospital) -> Hospital:
    set_up(hospital)
    return hospital


def test_declaring_shows_the_banner_to_a_nurse_and_emails_the_ed_its_procedures(
    ward: Hospital,
) -> None:
    with time_machine.travel(T0, tick=False):
        event = downtime.declare(ward.agent, unplanned(departments=["NG-IT"]))
    assert event.status == DowntimeStatus.ACTIVE
    # The ED relies on the EHR (CMDB); IT was named; Riverside relies only on printing.
    assert sorted(d.code for d in event.departments.all()) == ["NG-ED", "NG-IT"]
    nurse_mail = emails_to("maria@hospital.example")
    assert len(nurse_mail) == 1
    assert "ED paper triage" in nurse_mail[0].body
    assert "https://intranet.example/ed-downtime.pdf" in nurse_mail[0].body
    assert "EHR paper charting" not in nurse_mail[0].body  # the ED's own procedure wins
    it_mail = emails_to("priya@hospital.example")
    assert "EHR paper charting" in it_mail[0].body
    assert emails_to("olive@hospital.example") == []
    client = Client()
    assert client.login(username="maria", password=PASSWORD)
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Electronic health record down: downtime procedures are active" in text
    assert f'href="/downtime/{event.pk}/"' in text
    assert AuditEvent.objects.filter(action="downtime.declared", object_id=str(event.pk)).exists()


def test_an_unplanned_downtime_pages_the_on_call_engineer(ward: Hospital) -> None:
    paging_setup.set_up(ward)
    event = downtime.declare(ward.agent, unplanned())
    page = Page.objects.get()
    assert (page.priority, page.source) == ("P1", "manual")
    assert f"downtime:{event.pk}" in set(page.keys.values_list("key", flat=True))
    assert next(n.channel for n in paging_setup.sent_to(ward.engineer, page=page)) == "sms"


def test_a_planned_downtime_pages_nobody_and_waits_for_its_notice(ward: Hospital) -> None:
    paging_setup.set_up(ward)
    with time_machine.travel(T0, tick=False):
        event = downtime.schedule_planned_downtime(
            ward.manager,
            title="EHR upgrade",
            services=["EHR"],
            starts_at=T0 + timedelta(days=30),
            ends_at=T0 + timedelta(days=30, hours=4),
            source="CHG-000012",
        )
    assert event.status == DowntimeStatus.SCHEDULED
    assert event.source == "CHG-000012"
    assert not Page.objects.exists()
    assert emails_to("maria@hospital.example") == []


def test_notice_is_five_working_days_ahead_across_a_weekend_and_a_holiday(
    ward: Hospital,
) -> None:
    Holiday.objects.create(site=Site.objects.get(code="NORTH"), date="2026-12-25", name="Xmas")
    starts = datetime(2026, 12, 28, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
    with time_machine.travel(T0, tick=False):
        event = downtime.schedule_planned_downtime(
            ward.manager,
            title="EHR upgrade",
            services=["EHR"],
            starts_at=starts,
            ends_at=starts + timedelta(hours=4),
        )
    # Thu 24, Wed 23, Tue 22, Mon 21, Fri 18 (Fri 25 is a holiday): Friday 18th at 08:00 EST.
    assert event.announce_at == datetime(2026, 12, 18, 13, 0, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 12, 18, 12, 59, tzinfo=UTC), tick=False):
        assert watch.run_due(datetime(2026, 12, 18, 12, 59, tzinfo=UTC)).announced == 0
    assert emails_to("maria@hospital.example") == []
    at = datetime(2026, 12, 18, 13, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        assert watch.run_due(at).announced == 1
        assert watch.run_due(at).announced == 0  # claimed once
    mail = emails_to("maria@hospital.example")
    assert len(mail) == 1
    assert "Planned downtime" in mail[0].subject
    assert "ED paper triage" in mail[0].body
    with time_machine.travel(at, tick=False):
        assert "downtime procedures are active" not in home_page_of_maria()
    with time_machine.travel(starts, tick=False):
        done = watch.run_due(starts)
        assert (done.started, done.reminded) == (1, 0)
        assert "downtime procedures are active" in home_page_of_maria()
    end = starts + timedelta(hours=4)
    with time_machine.travel(end, tick=False):
        assert watch.run_due(end).reminded == 1
        assert watch.run_due(end).reminded == 0
    assert DowntimeEvent.objects.get().end_reminded_at == end
    report_now = report.build(DowntimeEvent.objects.get())
    assert report_now.time_to_notify_minutes == -((starts - at).total_seconds() / 60)


def test_updates_checklist_close_and_the_report(ward: Hospital) -> None:
    with time_machine.travel(T0, tick=False):
        event = downtime.declare(ward.agent, unplanned())
        downtime.add_update(ward.engineer, event.pk, "Database failover under way.")
    assert len(emails_to("maria@hospital.example")) == 2
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        downtime.end(ward.engineer, event.pk)
    labels = [i.label for i in event.checklist.all()]
    assert labels == [
        "Electronic health record restored",
        "Read-only business-continuity access closed",
        "Paper records back-entered in Emergency Department",
    ]
    items = list(event.checklist.all())
    with time_machine.travel(T0 + timedelta(hours=2, minutes=10), tick=False):
        downtime.tick(ward.engineer, event.pk, items[0].pk)
    with pytest.raises(Conflict) as refused:
        downtime.close(ward.manager, event.pk)
    assert refused.value.field == "checklist"
    assert "Read-only business-continuity access closed" in str(refused.value)
    assert "Paper records back-entered in Emergency Department" in str(refused.value)
    assert DowntimeEvent.objects.get().status == DowntimeStatus.ENDED
    with time_machine.travel(T0 + timedelta(hours=2, minutes=20), tick=False):
        downtime.tick(ward.agent, event.pk, items[1].pk)
    with time_machine.travel(T0 + timedelta(hours=2, minutes=30), tick=False):
        downtime.tick(ward.agent, event.pk, items[2].pk)
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        closed = downtime.close(ward.manager, event.pk)
    assert closed.status == DowntimeStatus.CLOSED
    assert closed.recovery_complete
    figures = report.build(closed)
    assert figures.duration_minutes == 130.0
    assert figures.time_to_notify_minutes == 10.0
    assert figures.time_to_recover_minutes == 30.0
    assert (figures.checklist_done, figures.checklist_total) == (3, 3)
    assert figures.departments == ["NG-ED"]
    assert figures.services == ["EHR"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_at": T0 - timedelta(hours=1)}, "ends_at"),
        ({"services": ["EHR", "NOPE"]}, "services"),
        ({"services": []}, "services"),
        ({"departments": ["NG-ZZ"]}, "departments"),
        ({"kind": "planned", "starts_at": T0 + timedelta(days=9)}, "ends_at"),
        ({"title": "  "}, "title"),
        ({"starts_at": T0 + timedelta(hours=1)}, "starts_at"),
    ],
)
def test_bad_declarations_name_the_field_and_store_nothing(
    ward: Hospital, changes: dict[str, object], field: str
) -> None:
    outbox_before = Notification.objects.count()
    with time_machine.travel(T0, tick=False), pytest.raises(InvalidInput) as refused:
        downtime.declare(ward.agent, unplanned(**changes))
    assert refused.value.field == field
    assert not DowntimeEvent.objects.exists()
    assert Notification.objects.count() == outbox_before


def test_ticking_twice_another_events_item_and_updating_a_closed_event(ward: Hospital) -> None:
    first = downtime.declare(ward.agent, unplanned(read_only_access=False))
    second = downtime.declare(ward.agent, unplanned(services=["PRINT"]))
    downtime.end(ward.agent, first.pk)
    downtime.end(ward.agent, second.pk)
    mine = list(first.checklist.all())
    theirs = second.checklist.first()
    assert theirs is not None
    with pytest.raises(NotFound) as refused:
        downtime.tick(ward.agent, first.pk, theirs.pk)
    assert refused.value.field == "item_id"
    assert second.checklist.get(pk=theirs.pk).done_at is None
    downtime.tick(ward.agent, first.pk, mine[0].pk)
    ticked_at = first.checklist.get(pk=mine[0].pk).done_at
    with pytest.raises(Conflict) as twice:
        downtime.tick(ward.manager, first.pk, mine[0].pk)
    assert twice.value.field == "item_id"
    item = first.checklist.get(pk=mine[0].pk)
    assert (item.done_at, item.done_by_id) == (ticked_at, ward.agent.pk)
    for item in mine[1:]:
        downtime.tick(ward.agent, first.pk, item.pk)
    downtime.close(ward.agent, first.pk)
    with pytest.raises(Conflict) as closed:
        downtime.add_update(ward.agent, first.pk, "Too late")
    assert closed.value.field == "status"
    assert not DowntimeUpdate.objects.exists()


def test_the_demo_gives_the_ehr_procedures_once(hospital: Hospital) -> None:
    demo.load()
    demo.load()
    rows = DowntimeProcedure.objects.filter(service__code="EHR")
    assert sorted((p.department.code if p.department else "") for p in rows) == ["", "NG-ED"]
