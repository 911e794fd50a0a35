"""Backups against the RPO, restore tests, DR plans and drills: the RPO watch's incidents,
the readiness flags, the API and the pages, and who may do what.

Bad input tried: an RPO of 0 and of more than a year, an empty step, a contact with no name,
a malformed email, a number that is no phone number, an unknown contact key, an unknown
service to recover first, a service waiting for itself, a recovery order that goes round;
a backup job on a TCP check, on a heartbeat already used, with neither monitor nor schedule,
with a bad cron line, with a name already taken; a restore test in the future, of a backup
taken after the test, failed without notes, with an unknown result; a drill recovered
before it started, of a service with no plan, with negative data loss, with no time zone.
Each answers 4xx naming the field and leaves nothing written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from careline.continuity.models import BackupJob, DrDrill, RecoveryPlan, RestoreTest
from careline.continuity.services import readiness, recovery
from careline.core.models import ClinicalService
from careline.core.services import create_service
from careline.monitoring.choices import IncidentSource
from careline.monitoring.models import Monitor, MonitorIncident
from careline.monitoring.services import incidents, monitors
from careline.servicedesk.choices import Status
from careline.servicedesk.models import Ticket
from tests.conftest import PASSWORD, Hospital

T0 = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
PLAN = {
    "rpo_minutes": 24 * 60,
    "rto_minutes": 240,
    "steps": ["Fail the database over to the second data centre", "Repoint the app servers"],
    "contacts": [
        {
            "name": "Dana Ruiz",
            "role": "DBA",
            "phone": "+1 617 555 0100",
            "email": "dana@example.org",
        }
    ],
}
NIGHTLY = {"cron": "0 2 * * *", "tz": "America/New_York", "grace_s": 3600}


def ping(job: BackupJob, at: datetime, kind: str = "") -> None:
    with time_machine.travel(at, tick=False):
        path = f"/hb/{job.monitor.ping_token}" + (f"/{kind}" if kind else "")
        assert Client().get(path).status_code == 200


@pytest.fixture
def ehr_plan(hospital: Hospital) -> RecoveryPlan:
    with time_machine.travel(T0 - timedelta(days=2), tick=False):
        return recovery.save_plan(hospital.engineer, "EHR", recovery.PlanDraft(**PLAN))


@pytest.fixture
def job(hospital: Hospital, ehr_plan: RecoveryPlan) -> BackupJob:
    with time_machine.travel(T0 - timedelta(days=2), tick=False):
        return recovery.create_job(
            hospital.engineer,
            recovery.JobDraft(name="EHR database nightly", service="EHR", schedule=NIGHTLY),
        )


def backup_incidents() -> list[MonitorIncident]:
    return list(
        MonitorIncident.objects.filter(source=IncidentSource.BACKUP).select_related("ticket")
    )


# --------------------------------------------------------------------------- the RPO watch


def test_a_backup_older_than_the_rpo_opens_one_incident_and_a_good_backup_resolves_it(
    job: BackupJob,
) -> None:
    ping(job, T0)
    assert readiness.watch_rpo(T0 + timedelta(hours=23)) == readiness.Watched(0, 0)
    assert backup_incidents() == []

    # 25 h after the last good backup: past the 24 h RPO.
    watched = readiness.watch_rpo(T0 + timedelta(hours=25))
    assert watched.breached == 1
    [incident] = backup_incidents()
    ticket = incident.ticket
    assert ticket.kind == "incident"
    assert ticket.service.code == "EHR"
    assert "older than its RPO (24 h)" in ticket.title
    assert "2026-12-03 07:00 UTC" in ticket.description
    assert BackupJob.objects.get(pk=job.pk).rpo_breached_since == T0 + timedelta(hours=25)

    # Still stale an hour later, and a failed run changes nothing: the same one ticket.
    ping(job, T0 + timedelta(hours=25, minutes=30), "fail")
    assert readiness.watch_rpo(T0 + timedelta(hours=26)).breached == 0
    assert len(backup_incidents()) == 1

    # A good backup comes in: the incident is resolved with how long it lasted.
    ping(job, T0 + timedelta(hours=27))
    assert readiness.watch_rpo(T0 + timedelta(hours=27, minutes=1)).recovered == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert "a good backup came in" in ticket.resolution_notes
    assert BackupJob.objects.get(pk=job.pk).rpo_breached_since is None
    assert readiness.watch_rpo(T0 + timedelta(hours=28)) == readiness.Watched(0, 0)


def test_a_new_job_has_one_rpo_to_report_before_it_counts_as_stale(job: BackupJob) -> None:
    made = job.created_at
    assert readiness.watch_rpo(made + timedelta(hours=23)).breached == 0
    assert readiness.watch_rpo(made + timedelta(hours=25)).breached == 1
    [incident] = backup_incidents()
    assert "no good backup on record" in incident.ticket.description


def test_a_heartbeat_already_down_is_told_instead_of_a_second_ticket(
    hospital: Hospital, job: BackupJob
) -> None:
    ping(job, T0)
    monitor = Monitor.objects.select_related("service", "department").get(pk=job.monitor_id)
    incidents.raise_problem(
        incidents.monitor_problem(monitor, "no ping since 02:00", T0), T0 + timedelta(hours=20)
    )
    down = MonitorIncident.objects.get(source=IncidentSource.MONITOR)
    before = down.ticket.comments.count()
    readiness.watch_rpo(T0 + timedelta(hours=25))
    readiness.watch_rpo(T0 + timedelta(hours=26))
    assert backup_incidents() == []
    notes = list(down.ticket.comments.order_by("id").values_list("body", flat=True))[before:]
    assert len(notes) == 1
    assert "Past the recovery point objective" in notes[0]


def test_paused_or_retired_jobs_are_not_judged_and_retiring_resolves(
    hospital: Hospital, job: BackupJob
) -> None:
    ping(job, T0)
    readiness.watch_rpo(T0 + timedelta(hours=25))
    [incident] = backup_incidents()
    recovery.set_job_active(hospital.engineer, job.pk, False)
    assert readiness.watch_rpo(T0 + timedelta(hours=26)).recovered == 1
    incident.ticket.refresh_from_db()
    assert incident.ticket.status == Status.RESOLVED
    assert "no longer judged" in incident.ticket.resolution_notes
    assert readiness.watch_rpo(T0 + timedelta(hours=30)) == readiness.Watched(0, 0)


# --------------------------------------------------------------------------- readiness flags


def codes(state: readiness.ServiceReadiness) -> set[str]:
    return {f.code for f in state.flags}


def by_service(now: datetime) -> dict[str, readiness.ServiceReadiness]:
    return {s.service.code: s for s in readiness.readiness(now)}


def test_flags_say_everything_that_is_wrong_and_nothing_when_all_is_well(
    hospital: Hospital, job: BackupJob
) -> None:
    now = T0 + timedelta(hours=2)
    states = by_service(now)
    # PRINT (tier 3) has neither plan nor job: not listed. The EHR is, with what it lacks.
    assert set(states) == {"EHR"}
    assert codes(states["EHR"]) == {"backup_stale", "never_restored", "never_drilled"}

    ping(job, T0)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        recovery.record_restore_test(
            hospital.engineer,
            job.pk,
            recovery.RestoreTestDraft(tested_at=T0 + timedelta(minutes=30), result="passed"),
        )
        recovery.record_drill(
            hospital.engineer,
            "EHR",
            recovery.DrillDraft(
                scenario="Primary data centre lost",
                started_at=T0 - timedelta(hours=5),
                recovered_at=T0 - timedelta(hours=2),
                data_loss_minutes=15,
            ),
        )
    state = by_service(now)["EHR"]
    assert state.ok, state.flags
    assert state.newest_good_at == T0
    assert state.last_drill is not None
    assert state.last_drill.met_rto
    assert state.last_drill.recovery_minutes == 180
    assert state.last_drill.met_rpo is True

    # A year and a day later, with a failed restore test and a slow drill.
    later = T0 + timedelta(days=366)
    ping(job, later - timedelta(hours=1))
    assert codes(by_service(later)["EHR"]) == {"drill_old"}
    with time_machine.travel(later, tick=False):
        recovery.record_restore_test(
            hospital.engineer,
            job.pk,
            recovery.RestoreTestDraft(tested_at=later, result="failed", notes="Tape 14 unreadable"),
        )
        recovery.record_drill(
            hospital.engineer,
            "EHR",
            recovery.DrillDraft(
                scenario="Ransomware: rebuild from immutable copies",
                started_at=later - timedelta(hours=10),
                recovered_at=later - timedelta(hours=3),
            ),
        )
    state = by_service(later)["EHR"]
    assert codes(state) == {"restore_failed", "drill_missed_rto"}
    texts = " ".join(f.text for f in state.flags)
    assert "7 h against an RTO of 4 h" in texts
    assert "failed" in texts


def test_a_life_critical_service_with_nothing_is_flagged(hospital: Hospital) -> None:
    create_service(None, code="PHARM", name="Pharmacy", tier=1)
    state = by_service(T0)["PHARM"]
    assert codes(state) == {"no_plan", "no_backup_job"}


def test_readiness_costs_the_same_queries_for_many_jobs(
    hospital: Hospital, job: BackupJob, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(5):
        readiness.readiness(T0)
    for number in range(20):
        service = create_service(None, code=f"S{number}", name=f"System {number}", tier=1)
        recovery.save_plan(hospital.engineer, service.code, recovery.PlanDraft(60, 60))
        recovery.create_job(
            hospital.engineer,
            recovery.JobDraft(name=f"Job {number}", service=service.code, schedule=NIGHTLY),
        )
    with django_assert_max_num_queries(5):
        states = readiness.readiness(T0)
    assert len(states) == 21


# --------------------------------------------------------------------------- the API


def test_plan_job_restore_test_and_drill_through_the_api(hospital: Hospital, api_as: Any) -> None:
    engineer = api_as(hospital.engineer)
    create_service(None, code="AD", name="Directory", tier=1)
    with time_machine.travel(T0, tick=False):
        answer = engineer.put("/recovery/ehr/plan", {**PLAN, "depends_on": ["AD"]})
        assert answer.status_code == 200, answer.json()
        body = answer.json()
        assert body["plan"]["depends_on"] == ["AD"]
        assert body["plan"]["contacts"][0]["phone"] == "+16175550100"
        assert body["rpo_minutes"] == 1440

        made = engineer.post(
            "/backup-jobs",
            {"name": "EHR nightly", "service": "EHR", "schedule": NIGHTLY, "description": "Veeam"},
        )
        assert made.status_code == 201, made.json()
        job = made.json()
        assert job["ping_url"].endswith(f"/hb/{Monitor.objects.get(pk=job['monitor']).ping_token}")
        assert job["within_rpo"] is True
        assert job["last_good_at"] is None

        tested = engineer.post(
            f"/backup-jobs/{job['id']}/restore-tests",
            {"tested_at": (T0 - timedelta(hours=1)).isoformat(), "result": "passed"},
        )
        assert tested.status_code == 201, tested.json()
        drilled = engineer.post(
            "/recovery/EHR/drills",
            {
                "scenario": "Storage array failure",
                "started_at": (T0 - timedelta(hours=6)).isoformat(),
                "recovered_at": (T0 - timedelta(hours=1)).isoformat(),
            },
        )
        assert drilled.status_code == 201, drilled.json()
        assert drilled.json()["met_rto"] is False
        assert drilled.json()["recovery_minutes"] == 300

        listed = engineer.get("/recovery", flagged="true").json()
        [ehr] = [s for s in listed if s["service"] == "EHR"]
        assert {f["code"] for f in ehr["flags"]} == {"drill_missed_rto"}
        assert ehr["jobs"][0]["last_restore_test"]["result"] == "passed"
        detail = engineer.get("/recovery/EHR").json()
        assert len(detail["drills"]) == 1
        assert len(detail["restore_tests"]) == 1

        retired = engineer.patch(f"/backup-jobs/{job['id']}", {"active": False})
        assert retired.status_code == 200
        assert retired.json()["active"] is False


def test_an_existing_heartbeat_can_prove_a_job_but_a_check_cannot(
    hospital: Hospital, api_as: Any, ehr_plan: RecoveryPlan
) -> None:
    engineer = api_as(hospital.engineer)
    heartbeat = monitors.create_monitor(
        None, {"name": "Old backup heartbeat", "kind": "heartbeat", "config": {"period_s": 3600}}
    )
    tcp = monitors.create_monitor(
        None, {"name": "EHR port", "kind": "tcp", "config": {"host": "127.0.0.1", "port": 9}}
    )
    made = engineer.post(
        "/backup-jobs", {"name": "Reused", "service": "EHR", "monitor": heartbeat.pk}
    )
    assert made.status_code == 201
    assert made.json()["monitor"] == heartbeat.pk
    again = engineer.post(
        "/backup-jobs", {"name": "Reused twice", "service": "EHR", "monitor": heartbeat.pk}
    )
    assert again.status_code == 409
    assert again.json()["field"] == "monitor"
    check = engineer.post(
        "/backup-jobs", {"name": "On a check", "service": "EHR", "monitor": tcp.pk}
    )
    assert check.status_code == 422
    assert check.json()["field"] == "monitor"
    assert BackupJob.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rpo_minutes": 0}, "rpo_minutes"),
        ({"rto_minutes": 600_000}, "rto_minutes"),
        ({"steps": ["Fail over", "  "]}, "steps"),
        ({"contacts": [{"name": ""}]}, "contacts[1].name"),
        ({"contacts": [{"name": "Dana", "email": "not-an-email"}]}, "contacts[1].email"),
        ({"contacts": [{"name": "Dana", "phone": "12"}]}, "contacts[1].phone"),
        ({"depends_on": ["NOPE"]}, "depends_on"),
        ({"depends_on": ["EHR"]}, "depends_on"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(
    hospital: Hospital, api_as: Any, change: dict[str, Any], field: str
) -> None:
    answer = api_as(hospital.engineer).put("/recovery/EHR/plan", {**PLAN, **change})
    assert answer.status_code in (400, 404, 422), answer.json()
    assert field in str(answer.json()), answer.json()
    assert not RecoveryPlan.objects.exists()


def test_an_unknown_contact_key_and_a_recovery_order_that_goes_round(
    hospital: Hospital, api_as: Any
) -> None:
    engineer = api_as(hospital.engineer)
    unknown = engineer.put("/recovery/EHR/plan", {**PLAN, "contacts": [{"name": "A", "pager": 1}]})
    assert unknown.status_code == 422
    assert "pager" in str(unknown.json())
    assert engineer.put("/recovery/PRINT/plan", {**PLAN, "depends_on": ["EHR"]}).status_code == 200
    round_trip = engineer.put("/recovery/EHR/plan", {**PLAN, "depends_on": ["PRINT"]})
    assert round_trip.status_code == 422
    assert round_trip.json()["field"] == "depends_on"
    assert "EHR → PRINT → EHR" in round_trip.json()["detail"]
    assert not RecoveryPlan.objects.filter(service__code="EHR").exists()


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"name": "No schedule", "service": "EHR"}, 422, "schedule"),
        (
            {"name": "Bad cron", "service": "EHR", "schedule": {"cron": "every night"}},
            422,
            "schedule.cron",
        ),
        ({"name": "EHR database nightly", "service": "EHR", "schedule": NIGHTLY}, 409, "name"),
        ({"name": "Ghost", "service": "NOPE", "schedule": NIGHTLY}, 404, "service"),
        ({"name": "Ghost", "service": "EHR", "monitor": 999_999}, 404, "monitor"),
    ],
)
def test_bad_backup_jobs_are_refused(
    hospital: Hospital,
    api_as: Any,
    job: BackupJob,
    payload: dict[str, Any],
    status: int,
    field: str,
) -> None:
    monitors_before = Monitor.objects.count()
    answer = api_as(hospital.engineer).post("/backup-jobs", payload)
    assert answer.status_code == status, answer.json()
    assert answer.json().get("field", "") == field or field in str(answer.json())
    assert BackupJob.objects.count() == 1
    assert Monitor.objects.count() == monitors_before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tested_at": (T0 + timedelta(days=1)).isoformat()}, "tested_at"),
        ({"backup_taken_at": (T0 - timedelta(minutes=10)).isoformat()}, "backup_taken_at"),
        ({"result": "failed"}, "notes"),
        ({"result": "maybe"}, "result"),
        ({"duration_minutes": 0}, "duration_minutes"),
    ],
)
def test_bad_restore_tests_are_refused(
    hospital: Hospital, api_as: Any, job: BackupJob, change: dict[str, Any], field: str
) -> None:
    payload = {"tested_at": (T0 - timedelta(minutes=30)).isoformat(), "result": "passed", **change}
    with time_machine.travel(T0, tick=False):
        answer = api_as(hospital.engineer).post(f"/backup-jobs/{job.pk}/restore-tests", payload)
    assert answer.status_code == 422, answer.json()
    assert field in str(answer.json())
    assert not RestoreTest.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"recovered_at": (T0 - timedelta(hours=7)).isoformat()}, 422, "recovered_at"),
        ({"data_loss_minutes": -5}, 422, "data_loss_minutes"),
        ({"started_at": "2026-12-03T01:00:00"}, 422, "started_at"),
        ({"scenario": ""}, 422, "scenario"),
    ],
)
def test_bad_drills_are_refused(
    hospital: Hospital,
    api_as: Any,
    ehr_plan: RecoveryPlan,
    change: dict[str, Any],
    status: int,
    field: str,
) -> None:
    payload = {
        "scenario": "Data centre lost",
        "started_at": (T0 - timedelta(hours=6)).isoformat(),
        "recovered_at": (T0 - timedelta(hours=2)).isoformat(),
        **change,
    }
    with time_machine.travel(T0, tick=False):
        answer = api_as(hospital.engineer).post("/recovery/EHR/drills", payload)
    assert answer.status_code == status, answer.json()
    assert field in str(answer.json())
    assert not DrDrill.objects.exists()


def test_a_service_without_a_plan_cannot_be_drilled(hospital: Hospital, api_as: Any) -> None:
    answer = api_as(hospital.engineer).post(
        "/recovery/EHR/drills",
        {
            "scenario": "Data centre lost",
            "started_at": (T0 - timedelta(hours=6)).isoformat(),
            "recovered_at": (T0 - timedelta(hours=2)).isoformat(),
        },
    )
    assert answer.status_code == 409
    assert answer.json()["field"] == "service"
    assert "RPO and RTO first" in answer.json()["detail"]


def test_who_may_read_and_who_may_change(hospital: Hospital, api_as: Any, job: BackupJob) -> None:
    assert api_as(hospital.nurse).get("/recovery").status_code == 403
    assert api_as(hospital.nurse).get("/recovery/EHR").status_code == 403
    for reader in (hospital.agent, hospital.auditor):
        assert api_as(reader).get("/recovery").status_code == 200
    for refused in (hospital.agent, hospital.auditor, hospital.nurse):
        client = api_as(refused)
        assert client.put("/recovery/EHR/plan", PLAN).status_code == 403
        assert client.patch(f"/backup-jobs/{job.pk}", {"active": False}).status_code == 403
        assert (
            client.post(
                f"/backup-jobs/{job.pk}/restore-tests",
                {"tested_at": T0.isoformat(), "result": "passed"},
            ).status_code
            == 403
        )
    assert BackupJob.objects.get(pk=job.pk).active
    assert not RestoreTest.objects.exists()


# --------------------------------------------------------------------------- the pages


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_pages_show_flags_and_keep_the_plan(hospital: Hospital, job: BackupJob) -> None:
    ping(job, T0)
    engineer = signed_in(hospital.engineer)
    page = engineer.get("/recovery/")
    assert page.status_code == 200
    assert b"EHR database nightly" in page.content
    assert b"never DR-drilled" in page.content

    saved = engineer.post(
        "/recovery/EHR/plan/",
        {
            "rpo_minutes": "60",
            "rto_minutes": "120",
            "steps": "Fail over\nCheck the interfaces\n",
            "contacts": "Dana Ruiz | DBA | +1 617 555 0100 | dana@example.org",
            "depends_on": "PRINT",
        },
        follow=True,
    )
    assert b"Recovery plan saved." in saved.content
    plan = RecoveryPlan.objects.get(service__code="EHR")
    assert plan.rpo_minutes == 60
    assert plan.steps == ["Fail over", "Check the interfaces"]
    assert plan.contacts[0]["phone"] == "+16175550100"

    refused = engineer.post(
        "/recovery/EHR/plan/", {"rpo_minutes": "soon", "rto_minutes": "1"}, follow=True
    )
    assert b"rpo_minutes: must be a whole number" in refused.content
    assert RecoveryPlan.objects.get(service__code="EHR").rpo_minutes == 60

    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        drilled = engineer.post(
            "/recovery/EHR/drills/",
            {
                "scenario": "Data centre lost",
                "started_at": "2026-12-03T00:00",
                "recovered_at": "2026-12-03T01:30",
            },
            follow=True,
        )
    assert b"DR drill recorded." in drilled.content
    assert b"recovered in <strong>90 min</strong>" in drilled.content
    assert engineer.get("/recovery/NOPE/").status_code == 404

    nurse = Client()
    assert nurse.login(username=hospital.nurse.username, password=PASSWORD)
    assert nurse.get("/recovery/").status_code == 403
    assert nurse.post(
        "/recovery/EHR/plan/", {"rpo_minutes": "1", "rto_minutes": "1"}
    ).status_code in (302, 403)
    assert RecoveryPlan.objects.get(service__code="EHR").rpo_minutes == 60
    assert ClinicalService.objects.filter(code="EHR").exists()
    assert Ticket.objects.count() == 0


def test_the_demo_recovery_data_loads_once_and_shows_kept_and_missing_work(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from careline.continuity import demo
    from careline.core import demo as core_demo
    from careline.monitoring import demo as monitoring_demo

    # The demo's places, people, monitors and recovery data; not its knowledge base (slow).
    monkeypatch.setattr(core_demo, "DEMO_STEPS", [monitoring_demo.load, demo.load_recovery])
    sink = type("Sink", (), {"write": lambda self, msg: None})()
    core_demo.load_demo(out=sink)
    core_demo.load_demo(out=sink)
    assert RecoveryPlan.objects.count() == 3
    assert BackupJob.objects.count() == 2
    assert DrDrill.objects.count() == 1
    assert RestoreTest.objects.count() == 1
    states = by_service(datetime.now(tz=UTC))
    assert states["EHR"].ok, states["EHR"].flags
    assert codes(states["PACS"]) == {"never_restored", "never_drilled"}
    assert "no_backup_job" in codes(states["LIS"])
    assert "no_plan" in codes(states["PHARM"])


def test_a_service_asked_for_by_name_is_judged_whatever_its_tier(
    hospital: Hospital, api_as: Any
) -> None:
    """PRINT (tier 3) has neither plan nor job: not in the list, but its own page and API
    answer say what it lacks, the same flags as the list would give."""
    assert "PRINT" not in by_service(T0)
    [state] = readiness.readiness(T0, services=["PRINT"])
    assert codes(state) == {"no_plan", "no_backup_job"}
    flags = api_as(hospital.agent).get("/recovery/PRINT").json()["flags"]
    assert {f["code"] for f in flags} == {"no_plan", "no_backup_job"}
    page = signed_in(hospital.agent).get("/recovery/PRINT/")
    assert b"no backup job reports for it" in page.content
