"""/api/v1/recovery and /api/v1/backup-jobs: each clinical service's RPO, RTO and DR plan,
its backups against the RPO, restore tests and DR drills. IT staff read (recovery.view);
writing needs recovery.manage (checked in the services)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from careline.continuity.models import BackupJob, DrDrill, RestoreResult, RestoreTest
from careline.continuity.services import readiness, recovery
from careline.core.callers import signed_in
from careline.core.permissions import Perm, require
from careline.core.schemas import InSchema
from careline.core.services import service_by_code
from careline.monitoring.services.monitors import ping_url

router = Router(tags=["recovery"])


class ContactIn(InSchema):
    model_config = ConfigDict(extra="forbid")  # a misspelt key must not vanish silently

    name: str = Field(max_length=150)
    role: str = Field("", max_length=150)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)


class PlanIn(InSchema):
    rpo_minutes: int = Field(description="the most data, in minutes of work, it may lose")
    rto_minutes: int = Field(description="the longest it may be down, in minutes")
    steps: list[str] = Field(default_factory=list, description="recovery steps, in order")
    contacts: list[ContactIn] = Field(default_factory=list)
    depends_on: list[str] = Field(
        default_factory=list, description="codes of services to recover first"
    )
    notes: str = Field("", max_length=5000)
    reviewed: bool = Field(False, description="mark the plan reviewed today")


class JobIn(InSchema):
    name: str = Field(max_length=200)
    service: str = Field(max_length=32)
    monitor: int | None = Field(None, description="an existing heartbeat monitor's id")
    schedule: dict[str, Any] = Field(
        default_factory=dict,
        description="a new heartbeat's schedule when no monitor is named: "
        '{"cron": "0 2 * * *", "tz": "America/New_York", "grace_s": 3600} or {"period_s": ...}',
    )
    description: str = Field("", max_length=5000)


class JobPatch(InSchema):
    active: bool


class RestoreTestIn(InSchema):
    tested_at: datetime
    result: RestoreResult
    backup_taken_at: datetime | None = None
    duration_minutes: int | None = None
    notes: str = Field("", max_length=5000)


class DrillIn(InSchema):
    scenario: str = Field(max_length=200)
    started_at: datetime
    recovered_at: datetime
    data_loss_minutes: int | None = None
    participants: str = Field("", max_length=1000)
    notes: str = Field("", max_length=5000)


class FlagOut(Schema):
    code: str
    text: str


class RestoreTestOut(Schema):
    id: int
    job: int = Field(alias="job_id")
    tested_at: datetime
    result: str
    backup_taken_at: datetime | None
    duration_minutes: int | None
    notes: str


class DrillOut(Schema):
    id: int
    service: str = Field(alias="service.code")
    scenario: str
    started_at: datetime
    recovered_at: datetime
    recovery_minutes: int
    rto_minutes: int
    met_rto: bool
    data_loss_minutes: int | None
    rpo_minutes: int
    met_rpo: bool | None
    participants: str
    notes: str


class JobOut(Schema):
    id: int
    name: str
    service: str
    description: str
    active: bool
    monitor: int
    ping_url: str | None
    last_good_at: datetime | None
    age_minutes: int | None
    within_rpo: bool | None
    rpo_breached_since: datetime | None
    last_restore_test: RestoreTestOut | None


class ReadinessOut(Schema):
    service: str
    name: str
    tier: int
    rpo_minutes: int | None
    rto_minutes: int | None
    newest_good_at: datetime | None
    jobs: list[JobOut]
    last_drill: DrillOut | None
    flags: list[FlagOut]
    ok: bool


class ContactOut(Schema):
    name: str
    role: str
    phone: str
    email: str


class PlanOut(Schema):
    service: str
    rpo_minutes: int
    rto_minutes: int
    steps: list[str]
    contacts: list[ContactOut]
    depends_on: list[str]
    notes: str
    reviewed_at: datetime | None
    updated_at: datetime


class ServiceRecoveryOut(ReadinessOut):
    plan: PlanOut | None
    drills: list[DrillOut]
    restore_tests: list[RestoreTestOut]


class ReadinessFilters(Schema):
    flagged: bool | None = Field(None, description="only services with (or without) a flag")


def _job(state: readiness.JobState) -> dict[str, Any]:
    job = state.job
    return {
        "id": job.pk,
        "name": job.name,
        "service": job.service.code,
        "description": job.description,
        "active": job.active,
        "monitor": job.monitor_id,
        "ping_url": ping_url(job.monitor),
        "last_good_at": state.last_good_at,
        "age_minutes": None if state.age is None else int(state.age.total_seconds() // 60),
        "within_rpo": state.within_rpo,
        "rpo_breached_since": job.rpo_breached_since,
        "last_restore_test": state.last_test,
    }


def _readiness(state: readiness.ServiceReadiness) -> dict[str, Any]:
    plan = state.plan
    return {
        "service": state.service.code,
        "name": state.service.name,
        "tier": state.service.tier,
        "rpo_minutes": plan.rpo_minutes if plan else None,
        "rto_minutes": plan.rto_minutes if plan else None,
        "newest_good_at": state.newest_good_at,
        "jobs": [_job(j) for j in state.jobs],
        "last_drill": state.last_drill,
        "flags": state.flags,
        "ok": state.ok,
    }


def service_recovery(code: str) -> dict[str, Any]:
    service = service_by_code(code.strip().upper(), field="code")
    [state] = readiness.readiness(services=[service.code])
    body = _readiness(state)
    plan = recovery.plan_for(service)
    body["plan"] = (
        None
        if plan is None
        else {
            "service": service.code,
            "rpo_minutes": plan.rpo_minutes,
            "rto_minutes": plan.rto_minutes,
            "steps": plan.steps,
            "contacts": plan.contacts,
            "depends_on": [s.code for s in plan.depends_on.all()],
            "notes": plan.notes,
            "reviewed_at": plan.reviewed_at,
            "updated_at": plan.updated_at,
        }
    )
    body["drills"] = list(DrDrill.objects.filter(service=service).select_related("service")[:50])
    body["restore_tests"] = list(RestoreTest.objects.filter(job__service=service)[:50])
    return body


@router.get("/recovery", response=list[ReadinessOut])
def list_readiness(request: HttpRequest, filters: Query[ReadinessFilters]) -> list[dict[str, Any]]:
    require(signed_in(request), Perm.RECOVERY_VIEW)
    states = readiness.readiness()
    if filters.flagged is not None:
        states = [s for s in states if s.ok is not filters.flagged]
    return [_readiness(s) for s in states]


@router.get("/recovery/{code}", response=ServiceRecoveryOut)
def get_service_recovery(request: HttpRequest, code: str) -> dict[str, Any]:
    require(signed_in(request), Perm.RECOVERY_VIEW)
    return service_recovery(code)


@router.put("/recovery/{code}/plan", response=ServiceRecoveryOut)
def put_plan(request: HttpRequest, code: str, payload: PlanIn) -> dict[str, Any]:
    recovery.save_plan(
        signed_in(request),
        code,
        recovery.PlanDraft(
            rpo_minutes=payload.rpo_minutes,
            rto_minutes=payload.rto_minutes,
            steps=payload.steps,
            contacts=[c.dict() for c in payload.contacts],
            depends_on=payload.depends_on,
            notes=payload.notes,
            reviewed=payload.reviewed,
        ),
    )
    return service_recovery(code)


@router.post("/recovery/{code}/drills", response={201: DrillOut})
def post_drill(request: HttpRequest, code: str, payload: DrillIn) -> Status[DrDrill]:
    drill = recovery.record_drill(
        signed_in(request),
        code,
        recovery.DrillDraft(
            scenario=payload.scenario,
            started_at=payload.started_at,
            recovered_at=payload.recovered_at,
            data_loss_minutes=payload.data_loss_minutes,
            participants=payload.participants,
            notes=payload.notes,
        ),
    )
    return Status(201, drill)


def _job_out(job: BackupJob) -> dict[str, Any]:
    [service] = readiness.readiness(services=[job.service.code])
    return _job(next(j for j in service.jobs if j.job.pk == job.pk))


@router.post("/backup-jobs", response={201: JobOut})
def post_job(request: HttpRequest, payload: JobIn) -> Status[dict[str, Any]]:
    job = recovery.create_job(
        signed_in(request),
        recovery.JobDraft(
            name=payload.name,
            service=payload.service,
            monitor=payload.monitor,
            schedule=payload.schedule,
            description=payload.description,
        ),
    )
    return Status(201, _job_out(recovery.get_job(job.pk)))


@router.get("/backup-jobs/{job_id}", response=JobOut)
def get_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    require(signed_in(request), Perm.RECOVERY_VIEW)
    return _job_out(recovery.get_job(job_id))


@router.patch("/backup-jobs/{job_id}", response=JobOut)
def patch_job(request: HttpRequest, job_id: int, payload: JobPatch) -> dict[str, Any]:
    job = recovery.set_job_active(signed_in(request), job_id, payload.active)
    return _job_out(job)


@router.post("/backup-jobs/{job_id}/restore-tests", response={201: RestoreTestOut})
def post_restore_test(
    request: HttpRequest, job_id: int, payload: RestoreTestIn
) -> Status[RestoreTest]:
    test = recovery.record_restore_test(
        signed_in(request),
        job_id,
        recovery.RestoreTestDraft(
            tested_at=payload.tested_at,
            result=payload.result,
            backup_taken_at=payload.backup_taken_at,
            duration_minutes=payload.duration_minutes,
            notes=payload.notes,
        ),
    )
    return Status(201, test)
