"""The morning check: each section against a night at Northgate, each site at its own 07:00
(a daylight-saving day too), emailed once however often the loop runs, reviewed once and
audited, security incidents hidden from an agent without clearance.

Bad input tried: notes one character too long, notes that are not text, an unknown site, an
unknown check id, reviewing a check twice (refused with 409: a sign-off is not overwritten),
a requester asking for the check, a mistyped check hour or shift time in the settings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from careline.api import api
from careline.core.models import AuditEvent, Site
from careline.engine.runner import REGISTRY
from careline.env import ImproperSetting
from careline.oncall.models import Notification
from careline.reports.morning import schedule, services
from careline.reports.morning.check import build_morning_check
from careline.reports.morning.models import NOTES_MAX, MorningCheck
from careline.servicedesk.models import Queue, QueueMember, Ticket
from tests.conftest import PASSWORD, Hospital
from tests.reports.morning_setup import (
    NORTH_CHECK,
    RIVER_CHECK,
    backup,
    change,
    detected,
    expiring,
    monitor,
    rota,
    ticket,
)

SECRET_TITLE = "Laptop with the theatre list stolen from car"
PHI_TITLE = "Results for MRN 12345678 missing"


@pytest.fixture
def night(hospital: Hospital, settings: Any) -> Hospital:
    """Northgate's night before Tuesday 10 March 2026, 07:00."""
    settings.MORNING_CHECK_TO = ["desk@northgate.example"]
    at = NORTH_CHECK
    h = hospital
    p1 = ticket(h.nurse, at - timedelta(hours=5), "EHR frozen in resus", care_effect="blocked")
    # The SLA watcher marked its resolution target missed an hour ago.
    Ticket.objects.filter(pk=p1.pk).update(resolution_result="breached")
    ticket(h.agent, at - timedelta(hours=3), "Ward PC slow", department="NG-IT")
    ticket(
        h.nurse,
        at - timedelta(hours=2),
        "New keyboard",
        kind="request",
        department="NG-IT",
        care_effect="none",
    )
    ticket(h.nurse, at - timedelta(hours=30), "Before the night", care_effect="blocked")
    ticket(
        h.outsider,
        at - timedelta(hours=1),
        "Riverside printer down",
        department="RV-W1",
        care_effect="blocked",
    )
    ticket(
        h.nurse,
        at - timedelta(hours=4),
        SECRET_TITLE,
        kind="security",
        phi_breach_suspected=True,
    )
    flagged = ticket(h.nurse, at - timedelta(hours=6), PHI_TITLE, care_effect="blocked")
    Ticket.objects.filter(pk=flagged.pk).update(phi_flagged=True)
    with time_machine.travel(at - timedelta(minutes=30), tick=False):
        db_down = monitor(
            "EHR database", "down", department="NG-IT", service="EHR", error="refused"
        )
        monitor("Wi-Fi controller", "degraded", error="slow answers")
        monitor("Riverside router", "down", department="RV-W1")
        monitor("EHR portal certificate", "up", kind="tls", last_value=12.4)
        monitor("Intranet certificate", "up", kind="tls", last_value=90.0)
        backup("EHR", "EHR nightly", rpo_minutes=1440, last_good=at - timedelta(hours=30))
        backup("PRINT", "Print queues", rpo_minutes=1440, last_good=at - timedelta(hours=2))
        expiring(date(2026, 3, 10))
        change(
            "CHG-000001",
            "Patch the EHR app servers",
            at + timedelta(hours=7),
            2,
            h.manager,
            "scheduled",
        )
        change("CHG-000002", "Tomorrow's work", at + timedelta(hours=31), 2, h.manager, "scheduled")
        change("CHG-000003", "Only a draft", at + timedelta(hours=8), 2, h.manager, "draft")
        rota(h.engineer)
    detected(p1, db_down, at - timedelta(hours=5))
    return h


def _north() -> Site:
    return Site.objects.get(code="NORTH")


def test_every_section_of_the_check_for_an_agent(night: Hospital) -> None:
    report = build_morning_check(_north(), NORTH_CHECK + timedelta(minutes=5), night.agent)
    assert report.date == date(2026, 3, 10)
    assert report.due_at == NORTH_CHECK
    assert report.since == NORTH_CHECK - timedelta(days=1)
    states = {s.code: s.state for s in report.services}
    assert states == {"EHR": "down", "PRINT": "operational"}
    assert report.service_counts["down"] == 1
    # Northgate's and the estate's failing monitors; Riverside's router is not Northgate's.
    assert [m.name for m in report.monitors.items] == ["EHR database", "Wi-Fi controller"]
    assert (report.monitors_down, report.monitors_degraded) == (1, 1)
    assert [(b.job, b.within_rpo, b.rpo_text) for b in report.backups.items] == [
        ("EHR nightly", False, "24 h"),
        ("Print queues", True, "24 h"),
    ]
    assert report.backups_stale == 1
    # Incidents and P1/P2 of the night; not the request, not yesterday's, not Riverside's,
    # and not the security incident (Priya has no clearance).
    overnight = {t.title: t for t in report.overnight.items}
    assert set(overnight) == {"EHR frozen in resus", "Ward PC slow", PHI_TITLE}
    assert overnight["EHR frozen in resus"].from_monitor is True
    assert report.overnight_by_priority == {"P1": 2, "P2": 0, "P3": 1, "P4": 0}
    assert report.security_left_out is True
    assert [(b.title, b.target) for b in report.breaches.items] == [
        ("EHR frozen in resus", "resolution")
    ]
    assert report.open_in_breach == 1
    assert [c.name for c in report.certificates.items] == ["EHR portal certificate"]
    assert report.certificates.items[0].days_left == 12
    assert [(w.name, w.days_left) for w in report.warranties.items] == [("Core switch ED", 10)]
    assert [c.name for c in report.contracts.items] == ["C-EHR-2026 (Meditech Partners)"]
    assert [(b.name, b.days_left) for b in report.baas.items] == [
        ("BAA with Meditech Partners", 25)
    ]
    assert report.expiring_total == 4
    assert [c.number for c in report.changes.items] == ["CHG-000001"]
    assert [(o.schedule, o.person) for o in report.on_call] == [("IT-ONCALL", "Sam")]


def test_a_cleared_manager_sees_the_security_incident(night: Hospital) -> None:
    report = build_morning_check(_north(), NORTH_CHECK + timedelta(minutes=5), night.manager)
    assert SECRET_TITLE in {t.title for t in report.overnight.items}
    assert report.security_left_out is False


def test_an_agent_in_the_security_queue_is_cleared(night: Hospital) -> None:
    QueueMember.objects.create(queue=Queue.objects.get(code="SECURITY"), user=night.agent)
    report = build_morning_check(_north(), NORTH_CHECK + timedelta(minutes=5), night.agent)
    assert SECRET_TITLE in {t.title for t in report.overnight.items}


def test_the_api_hides_security_titles_from_an_agent(night: Hospital, api_as: Any) -> None:
    with time_machine.travel(NORTH_CHECK + timedelta(minutes=5), tick=False):
        agent = api_as(night.agent).get("/morning-check", site="NORTH")
        manager = api_as(night.manager).get("/morning-check", site="north")
    assert agent.status_code == 200, agent.content
    assert SECRET_TITLE not in agent.content.decode()
    assert "SEC-" not in agent.content.decode()
    assert agent.json()["report"]["security_left_out"] is True
    assert SECRET_TITLE in manager.content.decode()


def test_long_lists_stop_with_and_n_more(hospital: Hospital) -> None:
    with time_machine.travel(NORTH_CHECK - timedelta(hours=1), tick=False):
        for n in range(30):
            monitor(f"Cart {n:02d}", "down", department="NG-ED")
    report = build_morning_check(_north(), NORTH_CHECK, hospital.agent)
    assert len(report.monitors.items) == 25
    assert (report.monitors.total, report.monitors.more) == (30, 5)


def _queries(site: Site, at: datetime, viewer: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        build_morning_check(site, at, viewer)
    return len(captured.captured_queries)


def test_the_check_reads_a_fixed_number_of_queries(night: Hospital) -> None:
    at = NORTH_CHECK + timedelta(minutes=5)
    before = _queries(_north(), at, night.agent)
    for n in range(40):
        ticket(
            night.nurse,
            NORTH_CHECK - timedelta(minutes=10 + n),
            f"Scanner {n}",
            care_effect="blocked",
        )
        monitor(f"Extra {n}", "down", department="NG-ED")
    assert _queries(_north(), at, night.agent) == before


# --- time zones ---------------------------------------------------------------------------------


def test_each_site_gets_its_check_at_its_own_seven_o_clock(night: Hospital) -> None:
    with time_machine.travel(NORTH_CHECK - timedelta(minutes=1), tick=False):
        assert services.run_due(NORTH_CHECK - timedelta(minutes=1))[0] == 0
    # 07:01 in New York is 06:01 in Chicago: Northgate's check only.
    north_time = NORTH_CHECK + timedelta(minutes=1)
    with time_machine.travel(north_time, tick=False):
        assert services.run_due(north_time)[0] == 1
    assert list(MorningCheck.objects.values_list("site__code", "date")) == [
        ("NORTH", date(2026, 3, 10))
    ]
    river_time = RIVER_CHECK + timedelta(minutes=1)
    with time_machine.travel(river_time, tick=False):
        assert services.run_due(river_time)[0] == 1
    river = MorningCheck.objects.get(site__code="RIVER")
    assert river.date == date(2026, 3, 10)
    assert river.due_at == RIVER_CHECK


def test_on_the_day_the_clocks_go_forward_the_night_is_23_hours() -> None:
    north = Site(code="NORTH", name="Northgate", time_zone="America/New_York")
    # Sunday 8 March 2026: 02:00 EST became 03:00 EDT.
    day, at = schedule.latest_check(north, datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    assert (day, at) == (date(2026, 3, 8), datetime(2026, 3, 8, 11, 0, tzinfo=UTC))
    assert at - schedule.overnight_since(north, day) == timedelta(hours=23)
    # And on the day they go back, 25.
    day, at = schedule.latest_check(north, datetime(2026, 11, 1, 13, 0, tzinfo=UTC))
    assert at == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert at - schedule.overnight_since(north, day) == timedelta(hours=25)


def test_a_check_hour_skipped_by_the_clock_change_comes_right_after_the_gap(
    settings: Any,
) -> None:
    settings.MORNING_CHECK_HOUR = "02:30"
    north = Site(code="NORTH", name="Northgate", time_zone="America/New_York")
    # 02:30 did not exist on 8 March 2026: the check runs at 03:00 EDT, 07:00 UTC.
    assert schedule.check_at(north, date(2026, 3, 8)) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "value"),
    [("MORNING_CHECK_HOUR", "7am"), ("MORNING_CHECK_HOUR", "24:00"), ("HANDOVER_TIMES", ["19:60"])],
)
def test_a_mistyped_time_stops_start_up_naming_the_variable(
    settings: Any, name: str, value: Any
) -> None:
    setattr(settings, name, value)
    with pytest.raises(ImproperSetting, match=f"CARELINE_{name}"):
        schedule.validate()


# --- the email, once ------------------------------------------------------------------------------


def test_two_runs_of_the_loop_email_the_check_once(night: Hospital, settings: Any) -> None:
    settings.MORNING_CHECK_TO = ["desk@northgate.example", "lead@northgate.example"]
    at = NORTH_CHECK + timedelta(minutes=1)
    with time_machine.travel(at, tick=False):
        assert services.send_check(_north(), at) is True
        assert services.send_check(_north(), at + timedelta(seconds=30)) is False
        services.run_due(at + timedelta(minutes=1))
    mails = Notification.objects.filter(idempotency_key__startswith="morning:NORTH:")
    assert sorted(mails.values_list("to", flat=True)) == [
        "desk@northgate.example",
        "lead@northgate.example",
    ]
    check = MorningCheck.objects.get(site__code="NORTH")
    assert check.emailed_at == at
    assert check.recipients == 2
    assert check.snapshot["report"]["site"] == "NORTH"
    assert "CLINICAL SERVICES" in check.snapshot["text"]
    assert AuditEvent.objects.filter(action="morning_check.sent").count() == 1


def test_the_email_leaves_out_security_incidents_and_withholds_phi_titles(
    night: Hospital,
) -> None:
    at = NORTH_CHECK + timedelta(minutes=1)
    with time_machine.travel(at, tick=False):
        services.send_check(_north(), at)
    mail = Notification.objects.get(idempotency_key__startswith="morning:NORTH:")
    assert SECRET_TITLE not in mail.body
    assert PHI_TITLE not in mail.body
    assert "12345678" not in mail.body
    assert "title withheld" in mail.body
    assert "EHR frozen in resus" in mail.body
    assert mail.subject.startswith("Morning check, Northgate Medical Center, Tue 10 Mar: ")


def test_without_a_setting_the_desk_queue_members_get_it(hospital: Hospital) -> None:
    hospital.agent.email = "priya@northgate.example"
    hospital.agent.save()
    QueueMember.objects.create(queue=Queue.objects.get(code="SERVICEDESK"), user=hospital.agent)
    QueueMember.objects.create(queue=Queue.objects.get(code="NETWORK"), user=hospital.engineer)
    assert services.recipients() == ["priya@northgate.example"]


def test_a_check_found_half_a_day_late_is_not_sent(night: Hospital) -> None:
    late = NORTH_CHECK + timedelta(hours=13)
    with time_machine.travel(late, tick=False):
        assert services.send_check(_north(), late) is False
    assert not MorningCheck.objects.exists()


# --- review -----------------------------------------------------------------------------------


def _sent() -> MorningCheck:
    at = NORTH_CHECK + timedelta(minutes=1)
    with time_machine.travel(at, tick=False):
        services.send_check(_north(), at)
    return MorningCheck.objects.get(site__code="NORTH")


def test_a_review_is_recorded_and_audited(night: Hospital, api_as: Any) -> None:
    check = _sent()
    answer = api_as(night.agent).post(
        f"/morning-check/{check.pk}/review", {"notes": "Called the DBA about the EHR database."}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["reviewed_by"] == "priya"
    check.refresh_from_db()
    assert check.reviewed_by == night.agent
    assert check.notes == "Called the DBA about the EHR database."
    event = AuditEvent.objects.get(action="morning_check.reviewed")
    assert event.actor == night.agent
    assert event.object_id == str(check.pk)
    assert event.before == {"reviewed_by_id": None, "reviewed_at": None, "notes": ""}
    assert event.after["notes"] == "Called the DBA about the EHR database."


def test_reviewing_twice_is_refused_and_changes_nothing(night: Hospital, api_as: Any) -> None:
    check = _sent()
    assert (
        api_as(night.agent).post(f"/morning-check/{check.pk}/review", {"notes": "ok"}).status_code
        == 200
    )
    again = api_as(night.manager).post(f"/morning-check/{check.pk}/review", {"notes": "mine"})
    assert again.status_code == 409
    assert "already reviewed by priya" in again.json()["detail"]
    check.refresh_from_db()
    assert (check.reviewed_by, check.notes) == (night.agent, "ok")
    assert AuditEvent.objects.filter(action="morning_check.reviewed").count() == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"notes": "x" * (NOTES_MAX + 1)}, 422, "notes"),  # one character too long
        ({"notes": ["a list"]}, 422, "notes"),  # not text
    ],
)
def test_bad_review_notes_are_refused_and_change_nothing(
    night: Hospital, api_as: Any, body: Any, status: int, field: str
) -> None:
    check = _sent()
    answer = api_as(night.agent).post(f"/morning-check/{check.pk}/review", body)
    assert answer.status_code == status
    assert field in answer.json()["detail"]
    check.refresh_from_db()
    assert check.reviewed_at is None


def test_unknown_checks_and_sites_are_404_naming_the_field(hospital: Hospital, api_as: Any) -> None:
    agent = api_as(hospital.agent)
    missing = agent.post("/morning-check/999999/review", {"notes": ""})
    assert missing.status_code == 404
    assert missing.json()["field"] == "id"
    site = agent.get("/morning-check", site="NOWHERE")
    assert site.status_code == 404
    assert site.json()["field"] == "site"
    assert agent.get("/morning-check", site="x" * 500).status_code == 404


def test_a_requester_may_not_read_or_review_the_check(night: Hospital, api_as: Any) -> None:
    check = _sent()
    nurse = api_as(night.nurse)
    assert nurse.get("/morning-check").status_code == 403
    assert nurse.post(f"/morning-check/{check.pk}/review", {"notes": ""}).status_code == 403
    client = Client()
    assert client.login(username="maria", password=PASSWORD)
    assert client.get("/morning/").status_code == 403
    assert client.post("/morning/review/", {"site": "NORTH"}).status_code == 403
    check.refresh_from_db()
    assert check.reviewed_at is None


def test_the_page_shows_the_check_and_records_a_review(night: Hospital) -> None:
    client = Client()
    client.force_login(night.agent)
    with time_machine.travel(NORTH_CHECK + timedelta(minutes=20), tick=False):
        page = client.get("/morning/")
        assert page.status_code == 200
        html = page.content.decode()
        for heading in (
            "Clinical services",
            "Monitors down or degraded",
            "Backups against their RPO",
            "Overnight incidents and P1/P2",
            "SLA breaches",
            "Expiring within 30 days",
            "Changes scheduled today",
            "On call",
        ):
            assert heading in html
        assert SECRET_TITLE not in html
        # Too long: the form comes back with the error, nothing recorded.
        bad = client.post("/morning/review/", {"site": "NORTH", "notes": "x" * (NOTES_MAX + 1)})
        assert bad.status_code == 422
        assert "notes: must be at most" in bad.content.decode()
        assert not MorningCheck.objects.filter(reviewed_at__isnull=False).exists()
        done = client.post("/morning/review/", {"site": "NORTH", "notes": "All seen."})
        assert done.status_code == 302
        again = client.get("/morning/?site=NORTH")
        assert "Reviewed by Priya" in again.content.decode()
        history = client.get("/morning/history/")
    assert "Priya" in history.content.decode()
    check = MorningCheck.objects.get()
    assert check.emailed_at is None  # reviewed before the engine ran: it still emails it
    detail = client.get(f"/morning/{check.pk}/")
    assert detail.status_code == 200
    assert client.get("/morning/?site=NOWHERE").status_code == 404


def test_an_engine_that_loses_the_race_sends_nothing(
    night: Hospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = services.build_morning_check

    def racing(site: Site, at: datetime, viewer: Any = None) -> Any:
        built = real(site, at, viewer)
        # While this engine was reading the figures, another one recorded and emailed them.
        MorningCheck.objects.create(
            site=site, date=built.date, due_at=built.due_at, generated_at=at, emailed_at=at
        )
        return built

    monkeypatch.setattr(services, "build_morning_check", racing)
    at = NORTH_CHECK + timedelta(minutes=1)
    with time_machine.travel(at, tick=False):
        assert services.send_check(_north(), at) is False
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.filter(action="morning_check.sent").exists()


def test_the_engine_loop_is_registered_and_sends_at_the_hour(night: Hospital) -> None:
    [spec] = [s for s in REGISTRY if s.name == "morning-check"]
    with time_machine.travel(NORTH_CHECK + timedelta(minutes=1), tick=False):
        async_to_sync(spec.tick)()
    assert MorningCheck.objects.get(site__code="NORTH").emailed_at is not None


def test_an_auditor_reads_the_check_but_may_not_review_it(night: Hospital, api_as: Any) -> None:
    check = _sent()
    auditor = api_as(night.auditor)
    assert auditor.get("/morning-check", site="NORTH").status_code == 200
    refused = auditor.post(f"/morning-check/{check.pk}/review", {"notes": "seen"})
    assert refused.status_code == 403
    assert auditor.post("/handover/notes", {"text": "hello"}).status_code == 403
    check.refresh_from_db()
    assert check.reviewed_at is None


def test_the_bodies_and_answers_are_in_the_openapi_document(night: Hospital, api_as: Any) -> None:
    schema = api.get_openapi_schema()
    for path in (
        "/api/v1/morning-check",
        "/api/v1/morning-check/{check_id}/review",
        "/api/v1/handover",
        "/api/v1/handover/notes",
    ):
        assert path in schema["paths"], path
    components = schema["components"]["schemas"]
    assert {"ReviewIn", "HandoverNoteIn", "MorningCheckOut", "HandoverOut"} <= set(components)
    with time_machine.travel(NORTH_CHECK + timedelta(minutes=5), tick=False):
        answer = api_as(night.agent).get("/morning-check").json()
    # The caller's own site (Priya works at Northgate), every documented field present.
    assert answer["report"]["site"] == "NORTH"
    assert set(components["MorningReportOut"]["required"]) <= set(answer["report"])
