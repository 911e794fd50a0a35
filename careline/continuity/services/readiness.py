"""Is each clinical service recoverable? Its newest good backups against its RPO, its last
restore tests, its last DR drill against its RTO, in a constant number of queries, with
everything wrong said as a flag. The RPO watch turns a stale backup into an incident.

A good backup is a success ping of the job's heartbeat monitor (a start or fail ping is not).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from careline.continuity.models import (
    BackupJob,
    DrDrill,
    RecoveryPlan,
    RestoreResult,
    RestoreTest,
)
from careline.core.choices import ServiceTier
from careline.core.models import ClinicalService
from careline.monitoring.choices import IncidentSource, PingKind
from careline.monitoring.models import HeartbeatPing, MonitorIncident
from careline.monitoring.services import incidents
from careline.monitoring.services.monitors import system_account
from careline.servicedesk.services import lifecycle

log = logging.getLogger("careline.recovery")
DRILL_EVERY = timedelta(days=365)


@dataclass(frozen=True)
class Flag:
    code: str
    text: str


@dataclass
class JobState:
    job: BackupJob
    last_good_at: datetime | None
    age: timedelta | None
    within_rpo: bool | None  # None: the service has no RPO to judge by
    last_test: RestoreTest | None


@dataclass
class ServiceReadiness:
    service: ClinicalService
    plan: RecoveryPlan | None
    jobs: list[JobState] = field(default_factory=list)
    last_drill: DrDrill | None = None
    flags: list[Flag] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.flags

    @property
    def newest_good_at(self) -> datetime | None:
        """The service's data is as fresh as its stalest job's newest good backup."""
        times = [j.last_good_at for j in self.jobs if j.job.active]
        if not times or None in times:
            return None
        return min(t for t in times if t is not None)


def hours(minutes: float) -> str:
    """ "90 min", "26 h", "3 d 4 h": objectives and ages the way people say them."""
    if minutes < 120:
        return f"{round(minutes)} min"
    if minutes < 72 * 60:
        value = minutes / 60
        return f"{value:.0f} h" if value >= 10 else f"{value:.1f} h".replace(".0 h", " h")
    days, rest = divmod(round(minutes / 60), 24)
    return f"{days} d {rest} h" if rest else f"{days} d"


def _last_good(job_ref: str = "monitor_id") -> Subquery:
    return Subquery(
        HeartbeatPing.objects.filter(monitor_id=OuterRef(job_ref), kind=PingKind.PING)
        .order_by("-at")
        .values("at")[:1]
    )


def jobs_with_last_good(**filters: object) -> list[BackupJob]:
    """Backup jobs, each with `last_good_at` (its newest success ping): one query."""
    return list(
        BackupJob.objects.filter(**filters)
        .select_related("service", "monitor")
        .annotate(last_good_at=_last_good())
    )


def _rpo_breached(
    job: BackupJob, last_good: datetime | None, rpo_minutes: int, now: datetime
) -> bool:
    limit = timedelta(minutes=rpo_minutes)
    if last_good is None:
        # A new job has its first RPO to report in.
        return now - job.created_at > limit
    return now - last_good > limit


def readiness(
    now: datetime | None = None, services: list[str] | None = None
) -> list[ServiceReadiness]:
    """Every service with a plan or a backup job, and every life-critical (tier 1) service
    whether or not it has one: those must. Given `services` (codes), those services and only
    those, whatever they have."""
    now = now or timezone.now()
    plans_q = RecoveryPlan.objects.select_related("service")
    tests_q = RestoreTest.objects.all()
    drills_q = DrDrill.objects.all()
    wanted = ClinicalService.objects.all()
    if services is not None:
        wanted = wanted.filter(code__in=services)
        plans_q = plans_q.filter(service__code__in=services)
        tests_q = tests_q.filter(job__service__code__in=services)
        drills_q = drills_q.filter(service__code__in=services)
    plans = {p.service_id: p for p in plans_q}
    jobs_of: dict[int, list[BackupJob]] = {}
    for job in jobs_with_last_good(
        **({"service__code__in": services} if services is not None else {})
    ):
        jobs_of.setdefault(job.service_id, []).append(job)
    tests = {
        t.job_id: t
        for t in tests_q.filter(
            pk=Subquery(
                RestoreTest.objects.filter(job_id=OuterRef("job_id"))
                .order_by("-tested_at", "-id")
                .values("pk")[:1]
            )
        )
    }
    drills = {
        d.service_id: d
        for d in drills_q.filter(
            pk=Subquery(
                DrDrill.objects.filter(service_id=OuterRef("service_id"))
                .order_by("-started_at", "-id")
                .values("pk")[:1]
            )
        )
    }
    if services is None:
        wanted = wanted.filter(
            Q(pk__in=set(plans) | set(jobs_of)) | Q(tier=ServiceTier.LIFE_CRITICAL)
        )
    result = []
    for service in wanted.order_by("tier", "code"):
        plan = plans.get(service.pk)
        state = ServiceReadiness(service=service, plan=plan, last_drill=drills.get(service.pk))
        for job in jobs_of.get(service.pk, []):
            last_good: datetime | None = job.last_good_at  # type: ignore[attr-defined]
            within = None
            if plan is not None and job.active:
                within = not _rpo_breached(job, last_good, plan.rpo_minutes, now)
            state.jobs.append(
                JobState(
                    job=job,
                    last_good_at=last_good,
                    age=None if last_good is None else now - last_good,
                    within_rpo=within,
                    last_test=tests.get(job.pk),
                )
            )
        state.flags = _flags(state, now)
        result.append(state)
    return result


def _flags(state: ServiceReadiness, now: datetime) -> list[Flag]:
    plan, flags = state.plan, []
    if plan is None:
        flags.append(Flag("no_plan", "no recovery plan: no RPO, RTO or steps"))
    elif not plan.steps:
        flags.append(Flag("no_steps", "the recovery plan has no steps"))
    active = [j for j in state.jobs if j.job.active]
    if not active:
        flags.append(Flag("no_backup_job", "no backup job reports for it"))
    for job in active:
        if job.within_rpo is False:
            rpo = hours(plan.rpo_minutes) if plan else "?"
            if job.last_good_at is None:
                text = f"{job.job.name}: no good backup on record (RPO {rpo})"
            else:
                age = hours((job.age or timedelta()).total_seconds() / 60)
                text = f"{job.job.name}: newest good backup is {age} old, past the RPO of {rpo}"
            flags.append(Flag("backup_stale", text))
        if job.last_test is None:
            flags.append(Flag("never_restored", f"{job.job.name}: never restore-tested"))
        elif job.last_test.result != RestoreResult.PASSED:
            flags.append(
                Flag(
                    "restore_failed",
                    f"{job.job.name}: last restore test {job.last_test.tested_at:%Y-%m-%d} "
                    f"{job.last_test.get_result_display().lower()}",
                )
            )
    drill = state.last_drill
    if plan is not None:
        if drill is None:
            flags.append(Flag("never_drilled", "never DR-drilled"))
        else:
            if now - drill.started_at > DRILL_EVERY:
                flags.append(
                    Flag("drill_old", f"last DR drill {drill.started_at:%Y-%m-%d}, over a year ago")
                )
            if not drill.met_rto:
                flags.append(
                    Flag(
                        "drill_missed_rto",
                        f"last DR drill took {hours(drill.recovery_minutes)} against an RTO of "
                        f"{hours(drill.rto_minutes)}",
                    )
                )
    return flags


# --------------------------------------------------------------------------- the RPO watch


@dataclass(frozen=True)
class Watched:
    breached: int
    recovered: int


def _problem(job: BackupJob, last_good: datetime | None, plan: RecoveryPlan) -> incidents.Problem:
    rpo = hours(plan.rpo_minutes)
    newest = (
        f"its newest good backup was at {last_good:%Y-%m-%d %H:%M} UTC"
        if last_good is not None
        else "it has no good backup on record"
    )
    error = f"{job.name}: {newest}; the RPO of {job.service.code} is {rpo}"
    monitor = job.monitor
    return incidents.Problem(
        source=IncidentSource.BACKUP,
        title=f"{job.service.code} backup older than its RPO ({rpo}): {job.name}",
        description=(
            f"{error}.\n\nIf {job.service.name} failed now, more data than its recovery "
            "objective allows would be lost. Find why the backup job has not succeeded, run "
            "it, and check that its heartbeat reports."
        ),
        error=error,
        care_effect=monitor.care_effect,
        scope=monitor.scope,
        service=job.service,
        department=monitor.department,
        monitor=monitor,
        down_since=last_good,
    )


def watch_rpo(now: datetime | None = None) -> Watched:
    """Open an incident for each backup job whose newest good backup is older than its
    service's RPO, note it while it lasts, and resolve it when a good backup comes in.

    When the job's heartbeat is already down with an incident of its own (the job did not
    run), that ticket is told the RPO has passed instead of a second ticket being opened.
    """
    now = now or timezone.now()
    plans = {p.service_id: p for p in RecoveryPlan.objects.all()}
    breached = recovered = 0
    for job in jobs_with_last_good(service_id__in=list(plans)):
        plan = plans[job.service_id]
        last_good: datetime | None = job.last_good_at  # type: ignore[attr-defined]
        live = job.active and not job.monitor.paused
        if live and _rpo_breached(job, last_good, plan.rpo_minutes, now):
            claimed = BackupJob.objects.filter(pk=job.pk, rpo_breached_since__isnull=True).update(
                rpo_breached_since=now
            )
            problem = _problem(job, last_good, plan)
            down = MonitorIncident.objects.filter(
                monitor=job.monitor, source=IncidentSource.MONITOR, resolved_at__isnull=True
            ).first()
            if down is not None:
                if claimed:
                    lifecycle.add_comment(
                        system_account(),
                        down.ticket_id,
                        f"Past the recovery point objective now: {problem.error}.",
                        public=False,
                    )
            else:
                incidents.raise_problem(problem, now)
            breached += claimed
        elif job.rpo_breached_since is not None and BackupJob.objects.filter(
            pk=job.pk, rpo_breached_since__isnull=False
        ).update(rpo_breached_since=None):
            what = (
                f"{job.name} (a good backup came in)"
                if live
                else f"{job.name} (retired or paused, no longer judged)"
            )
            incidents.clear_problem(IncidentSource.BACKUP, monitor=job.monitor, what=what, now=now)
            recovered += 1
    if breached or recovered:
        log.info("rpo watch breached=%s recovered=%s", breached, recovered)
    return Watched(breached, recovered)
