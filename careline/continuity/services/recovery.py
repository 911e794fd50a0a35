"""Recovery plans, backup jobs, restore tests and DR drills: checked, then written in one
transaction with their audit event. Everyone on the IT staff reads; writing needs
recovery.manage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from careline.continuity.models import (
    BackupJob,
    DrDrill,
    RecoveryPlan,
    RestoreResult,
    RestoreTest,
)
from careline.core import audit
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import ClinicalService, User
from careline.core.permissions import Perm, require
from careline.core.services import clean_name, service_by_code
from careline.monitoring.choices import MonitorKind
from careline.monitoring.models import Monitor
from careline.monitoring.services import monitors
from careline.oncall.phones import to_e164

# A year, in minutes: no objective or drill is longer.
MAX_MINUTES = 366 * 24 * 60
MAX_STEPS = 100
MAX_CONTACTS = 50
STEP_LIMIT = 1000
TEXT_LIMIT = 5000
# Clocks differ a little; a test or drill "recorded" in the future is a typo otherwise.
FUTURE_SLACK = timedelta(minutes=5)
PLAN_FIELDS = ["rpo_minutes", "rto_minutes", "steps", "contacts", "notes", "reviewed_at"]
JOB_FIELDS = ["name", "service_id", "monitor_id", "description", "active"]


@dataclass(frozen=True)
class PlanDraft:
    rpo_minutes: int
    rto_minutes: int
    steps: Sequence[str] = ()
    contacts: Sequence[dict[str, Any]] = ()
    depends_on: Sequence[str] = ()
    notes: str = ""
    reviewed: bool = False


@dataclass(frozen=True)
class JobDraft:
    name: str
    service: str
    # An existing heartbeat monitor, or the schedule of a new one made for this job.
    monitor: int | None = None
    schedule: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class RestoreTestDraft:
    tested_at: datetime
    result: str
    backup_taken_at: datetime | None = None
    duration_minutes: int | None = None
    notes: str = ""


@dataclass(frozen=True)
class DrillDraft:
    scenario: str
    started_at: datetime
    recovered_at: datetime
    data_loss_minutes: int | None = None
    participants: str = ""
    notes: str = ""


# --------------------------------------------------------------------------- checking


def _minutes(value: int, name: str) -> int:
    if not 1 <= value <= MAX_MINUTES:
        raise InvalidInput(f"must be between 1 and {MAX_MINUTES} minutes", field=name)
    return int(value)


def _text(value: str, name: str, limit: int = TEXT_LIMIT) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"must be at most {limit} characters", field=name)
    return value


def _past(at: datetime, name: str, now: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput("must carry a time zone (e.g. 2026-12-04T07:00:00Z)", field=name)
    if at > now + FUTURE_SLACK:
        raise InvalidInput("must not be in the future", field=name)
    return at


def _steps(steps: Sequence[str]) -> list[str]:
    if len(steps) > MAX_STEPS:
        raise InvalidInput(f"at most {MAX_STEPS} steps", field="steps")
    cleaned = []
    for number, step in enumerate(steps, start=1):
        text = str(step).strip()
        if not text:
            raise InvalidInput(f"step {number} is empty", field="steps")
        if len(text) > STEP_LIMIT:
            raise InvalidInput(f"step {number} is over {STEP_LIMIT} characters", field="steps")
        cleaned.append(text)
    return cleaned


def _contacts(contacts: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    if len(contacts) > MAX_CONTACTS:
        raise InvalidInput(f"at most {MAX_CONTACTS} contacts", field="contacts")
    cleaned = []
    for number, contact in enumerate(contacts, start=1):
        where = f"contacts[{number}]"
        if not isinstance(contact, dict):
            raise InvalidInput("must be an object with a name", field=where)
        unknown = set(contact) - {"name", "role", "phone", "email"}
        if unknown:
            raise InvalidInput(f"unknown key {sorted(unknown)[0]!r}", field=where)
        name = str(contact.get("name") or "").strip()
        if not name or len(name) > 150:
            raise InvalidInput("needs a name of at most 150 characters", field=f"{where}.name")
        email = str(contact.get("email") or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise InvalidInput("is not an email address", field=f"{where}.email") from None
        phone = str(contact.get("phone") or "").strip()
        if phone:
            parsed = to_e164(phone, settings.PHONE_REGION)
            if parsed is None:
                raise InvalidInput("is not a phone number", field=f"{where}.phone")
            phone = parsed
        role = str(contact.get("role") or "").strip()[:150]
        cleaned.append({"name": name, "role": role, "phone": phone, "email": email})
    return cleaned


def _dependencies(service: ClinicalService, codes: Sequence[str]) -> list[ClinicalService]:
    wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
    found = {s.code: s for s in ClinicalService.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise InvalidInput(
            f"unknown clinical service {', '.join(unknown)[:200]}", field="depends_on"
        )
    if service.code in found:
        raise InvalidInput("a service cannot wait for itself", field="depends_on")
    # Recovery order must be possible: no chain of "first recover" may come back round.
    edges: dict[int, list[int]] = {}
    for plan_id, dep_id in RecoveryPlan.depends_on.through.objects.values_list(
        "recoveryplan__service_id", "clinicalservice_id"
    ):
        edges.setdefault(plan_id, []).append(dep_id)
    edges[service.pk] = [s.pk for s in found.values()]
    names = dict(ClinicalService.objects.values_list("pk", "code"))
    path = _cycle_from(service.pk, edges)
    if path:
        chain = " → ".join(names[p] for p in path)
        raise InvalidInput(f"recovery order goes round: {chain}", field="depends_on")
    return [found[c] for c in wanted]


def _cycle_from(start: int, edges: dict[int, list[int]]) -> list[int]:
    """The first path from start back to start, or []."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        for nxt in edges.get(node, []):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return []


# --------------------------------------------------------------------------- plans


def save_plan(actor: User | None, service_code: str, draft: PlanDraft) -> RecoveryPlan:
    """Create or replace a service's recovery plan (actor None: CareLine itself, the demo)."""
    if actor is not None:
        require(actor, Perm.RECOVERY_MANAGE)
    service = service_by_code(service_code.strip().upper(), field="service")
    rpo = _minutes(draft.rpo_minutes, "rpo_minutes")
    rto = _minutes(draft.rto_minutes, "rto_minutes")
    steps = _steps(draft.steps)
    contacts = _contacts(draft.contacts)
    notes = _text(draft.notes, "notes")
    now = timezone.now()
    with transaction.atomic():
        depends_on = _dependencies(service, draft.depends_on)
        plan = RecoveryPlan.objects.select_for_update().filter(service=service).first()
        before = audit.snapshot(plan, PLAN_FIELDS) if plan else None
        if plan is None:
            plan = RecoveryPlan(service=service)
        plan.rpo_minutes, plan.rto_minutes = rpo, rto
        plan.steps, plan.contacts, plan.notes = steps, contacts, notes
        if draft.reviewed or plan.reviewed_at is None:
            plan.reviewed_at = now
        plan.updated_at, plan.updated_by = now, actor
        plan.save()
        plan.depends_on.set(depends_on)
        audit.record(
            "recovery.plan.save",
            actor=actor,
            obj=plan,
            summary=f"Recovery plan for {service.code}: RPO {rpo} min, RTO {rto} min",
            before=before,
            after=audit.snapshot(plan, PLAN_FIELDS),
        )
    return plan


def plan_for(service: ClinicalService) -> RecoveryPlan | None:
    return RecoveryPlan.objects.filter(service=service).prefetch_related("depends_on").first()


# --------------------------------------------------------------------------- backup jobs


def _heartbeat(actor: User | None, draft: JobDraft, service: ClinicalService) -> Monitor:
    if draft.monitor is not None:
        monitor = Monitor.objects.filter(pk=draft.monitor).first()
        if monitor is None:
            raise NotFound(f"no monitor has id {draft.monitor}", field="monitor")
        if monitor.kind != MonitorKind.HEARTBEAT:
            raise InvalidInput(
                f"monitor {monitor.name!r} is a {monitor.kind} check; a backup job reports "
                "by heartbeat",
                field="monitor",
            )
        if BackupJob.objects.filter(monitor=monitor).exists():
            raise Conflict(f"monitor {monitor.name!r} already proves a backup job", field="monitor")
        return monitor
    if not draft.schedule:
        raise InvalidInput(
            "name a heartbeat monitor, or give a schedule (period_s or cron, tz, grace_s)",
            field="schedule",
        )
    try:
        return monitors.create_monitor(
            actor,
            {
                "name": draft.name,
                "kind": MonitorKind.HEARTBEAT,
                "config": draft.schedule,
                "service": service.code,
                "impact": {"care_effect": "none", "scope": "enterprise"},
                "tags": ["backup"],
            },
        )
    except InvalidInput as error:
        # The monitor's config fields are this job's schedule fields.
        where = (error.field or "").removeprefix("config").lstrip(".")
        raise InvalidInput(error.message, field=f"schedule.{where}".rstrip(".")) from None


def create_job(actor: User | None, draft: JobDraft) -> BackupJob:
    if actor is not None:
        require(actor, Perm.RECOVERY_MANAGE)
    name = clean_name(draft.name)
    service = service_by_code(draft.service.strip().upper(), field="service")
    description = _text(draft.description, "description")
    if BackupJob.objects.filter(name=name).exists():
        raise Conflict(f"a backup job is already named {name!r}", field="name")
    try:
        with transaction.atomic():
            monitor = _heartbeat(actor, draft, service)
            job = BackupJob.objects.create(
                name=name,
                service=service,
                monitor=monitor,
                description=description,
                created_at=timezone.now(),
            )
            audit.record(
                "recovery.job.create",
                actor=actor,
                obj=job,
                summary=f"Backup job {name} for {service.code}, proven by {monitor.name}",
                after=audit.snapshot(job, JOB_FIELDS),
            )
    except IntegrityError:
        # A second request for the same name or monitor won the race.
        raise Conflict(
            "a backup job with this name or monitor already exists", field="name"
        ) from None
    return job


def get_job(job_id: int) -> BackupJob:
    job = BackupJob.objects.select_related("service", "monitor").filter(pk=job_id).first()
    if job is None:
        raise NotFound(f"no backup job has id {job_id}", field="job")
    return job


def set_job_active(actor: User, job_id: int, active: bool) -> BackupJob:
    """Retire a job (its service no longer backs up this way) or bring it back."""
    require(actor, Perm.RECOVERY_MANAGE)
    with transaction.atomic():
        job = get_job(job_id)
        before = audit.snapshot(job, JOB_FIELDS)
        job.active = active
        job.save(update_fields=["active"])
        audit.record(
            "recovery.job.update",
            actor=actor,
            obj=job,
            summary=f"Backup job {job.name} {'active' if active else 'retired'}",
            before=before,
            after=audit.snapshot(job, JOB_FIELDS),
        )
    return job


def record_restore_test(actor: User, job_id: int, draft: RestoreTestDraft) -> RestoreTest:
    require(actor, Perm.RECOVERY_MANAGE)
    now = timezone.now()
    job = get_job(job_id)
    tested_at = _past(draft.tested_at, "tested_at", now)
    if draft.result not in RestoreResult.values:
        raise InvalidInput(f"must be one of {', '.join(RestoreResult.values)}", field="result")
    taken = draft.backup_taken_at
    if taken is not None:
        _past(taken, "backup_taken_at", now)
        if taken > tested_at:
            raise InvalidInput(
                "must be before tested_at: a backup is taken, then restored",
                field="backup_taken_at",
            )
    if draft.duration_minutes is not None:
        _minutes(draft.duration_minutes, "duration_minutes")
    notes = _text(draft.notes, "notes")
    if draft.result != RestoreResult.PASSED and not notes:
        raise InvalidInput("say what went wrong when a restore test did not pass", field="notes")
    with transaction.atomic():
        test = RestoreTest.objects.create(
            job=job,
            tested_at=tested_at,
            result=draft.result,
            backup_taken_at=taken,
            duration_minutes=draft.duration_minutes,
            notes=notes,
            recorded_by=actor,
            created_at=now,
        )
        audit.record(
            "recovery.restore_test",
            actor=actor,
            obj=test,
            summary=f"Restore test of {job.name}: {draft.result}",
            after={"job": job.pk, "tested_at": tested_at, "result": draft.result},
        )
    return test


# --------------------------------------------------------------------------- DR drills


def record_drill(actor: User, service_code: str, draft: DrillDraft) -> DrDrill:
    """A drill is measured against the objectives of the plan in force: a service needs a
    plan before it can be drilled."""
    require(actor, Perm.RECOVERY_MANAGE)
    now = timezone.now()
    service = service_by_code(service_code.strip().upper(), field="service")
    plan = RecoveryPlan.objects.filter(service=service).first()
    if plan is None:
        raise Conflict(
            f"{service.code} has no recovery plan: set its RPO and RTO first", field="service"
        )
    scenario = clean_name(draft.scenario, field="scenario")
    started = _past(draft.started_at, "started_at", now)
    recovered = _past(draft.recovered_at, "recovered_at", now)
    if recovered <= started:
        raise InvalidInput("must be after started_at", field="recovered_at")
    minutes = max(1, round((recovered - started).total_seconds() / 60))
    if minutes > MAX_MINUTES:
        raise InvalidInput("a drill lasts less than a year", field="recovered_at")
    loss = draft.data_loss_minutes
    if loss is not None and not 0 <= loss <= MAX_MINUTES:
        raise InvalidInput(
            f"must be between 0 and {MAX_MINUTES} minutes", field="data_loss_minutes"
        )
    with transaction.atomic():
        drill = DrDrill.objects.create(
            service=service,
            scenario=scenario,
            started_at=started,
            recovered_at=recovered,
            recovery_minutes=minutes,
            rto_minutes=plan.rto_minutes,
            met_rto=minutes <= plan.rto_minutes,
            data_loss_minutes=loss,
            rpo_minutes=plan.rpo_minutes,
            met_rpo=None if loss is None else loss <= plan.rpo_minutes,
            participants=_text(draft.participants, "participants", 1000),
            notes=_text(draft.notes, "notes"),
            recorded_by=actor,
            created_at=now,
        )
        audit.record(
            "recovery.drill",
            actor=actor,
            obj=drill,
            summary=(
                f"DR drill of {service.code}: recovered in {minutes} min against an RTO of "
                f"{plan.rto_minutes} min ({'met' if drill.met_rto else 'missed'})"
            ),
            after={"service": service.code, "recovery_minutes": minutes, "met_rto": drill.met_rto},
        )
    return drill
