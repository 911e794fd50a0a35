"""The demo hospital's downtime procedures for the EHR, and its recovery plans, backup jobs,
a DR drill and a restore test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from careline.continuity.models import (
    BackupJob,
    DowntimeProcedure,
    DrDrill,
    RecoveryPlan,
    RestoreTest,
)
from careline.continuity.services import procedures, recovery
from careline.core.models import ClinicalService, Department, User
from careline.monitoring.models import Monitor

EHR_ALL = (
    "EHR downtime: paper charting",
    "1. Take the downtime kit from the ward office (paper order sets, MAR, progress notes).\n"
    "2. Print the latest census and medication report from the read-only workstation.\n"
    "3. Write every order and administration on paper, with the time.\n"
    "4. Keep the paper in the kit: it is back-entered when the EHR returns.",
)
EHR_ED = (
    "EHR downtime in the Emergency Department",
    "1. Register arrivals on the paper log with a downtime number (DT-1, DT-2, ...).\n"
    "2. Triage on the paper triage form; phone critical results to the ED charge nurse.\n"
    "3. Send labs and imaging with paper requisitions.",
)


def load() -> None:
    """Idempotent: a procedure already present is left alone."""
    ehr = ClinicalService.objects.filter(code="EHR").first()
    if ehr is None:
        return
    if not DowntimeProcedure.objects.filter(service=ehr, department=None).exists():
        procedures.create(None, service="EHR", title=EHR_ALL[0], body=EHR_ALL[1])
    ed = Department.objects.filter(clinical_area="ed").order_by("code").first()
    if ed is not None and not DowntimeProcedure.objects.filter(service=ehr, department=ed).exists():
        procedures.create(None, service="EHR", department=ed.code, title=EHR_ED[0], body=EHR_ED[1])


# The demo's recovery plans: objectives a hospital would set, with a drill and a restore
# test on record for the EHR, so the recovery page shows both kept and missing work.
PLANS: dict[str, dict[str, Any]] = {
    "EHR": {
        "rpo_minutes": 24 * 60,
        "rto_minutes": 4 * 60,
        "steps": [
            "Declare EHR downtime in CareLine: wards move to paper and the read-only copy.",
            "Fail the EHR database over to the second data centre (runbook DB-7).",
            "Point the application servers at the standby and restart them one at a time.",
            "Check the HL7 interfaces (lab, pharmacy, PACS) are passing messages again.",
            "Ask two wards to sign in and chart a test patient, then end the downtime.",
        ],
        "contacts": [
            {"name": "Database on call", "role": "EHR database administrator"},
            {"name": "EHR vendor support", "role": "24/7 vendor line", "phone": "+1 617 555 0142"},
        ],
        "depends_on": ["WIFI"],
    },
    "PACS": {
        "rpo_minutes": 24 * 60,
        "rto_minutes": 8 * 60,
        "steps": [
            "Route modalities to the local cache so scanning goes on.",
            "Restore the archive index from last night's backup.",
            "Re-send the day's studies from the modalities' cache.",
        ],
    },
    "LIS": {"rpo_minutes": 60, "rto_minutes": 2 * 60},
}
JOBS = {
    "EHR database nightly backup": "EHR",
    "PACS archive nightly backup": "PACS",
}


def load_recovery() -> None:
    """Idempotent: a plan, job, drill or test already present is left alone."""
    engineer = User.objects.filter(username="engineer").first()
    if engineer is None:
        return
    for code, plan in PLANS.items():
        service = ClinicalService.objects.filter(code=code).first()
        if service is None or RecoveryPlan.objects.filter(service=service).exists():
            continue
        recovery.save_plan(None, code, recovery.PlanDraft(**plan))
    for name, code in JOBS.items():
        monitor = Monitor.objects.filter(name=name, kind="heartbeat").first()
        if monitor is None or BackupJob.objects.filter(monitor=monitor).exists():
            continue
        recovery.create_job(
            None,
            recovery.JobDraft(
                name=name,
                service=code,
                monitor=monitor.pk,
                description="Nightly full backup to the immutable backup store.",
            ),
        )
    now = timezone.now()
    if not DrDrill.objects.filter(service__code="EHR").exists() and "EHR" in PLANS:
        started = now - timedelta(days=120, hours=3)
        recovery.record_drill(
            engineer,
            "EHR",
            recovery.DrillDraft(
                scenario="Primary data centre lost (tabletop and failover)",
                started_at=started,
                recovered_at=started + timedelta(hours=3, minutes=20),
                data_loss_minutes=12,
                participants="EHR team, database on call, two ward managers",
            ),
        )
    job = BackupJob.objects.filter(service__code="EHR").first()
    if job is not None and not RestoreTest.objects.filter(job=job).exists():
        recovery.record_restore_test(
            engineer,
            job.pk,
            recovery.RestoreTestDraft(
                tested_at=now - timedelta(days=30),
                result="passed",
                backup_taken_at=now - timedelta(days=31),
                duration_minutes=95,
                notes="Restored to the test environment; row counts and audit chain checked.",
            ),
        )
