"""Recovery: each clinical service's RPO and RTO and its disaster-recovery plan, the backup
jobs that protect its data (each reporting by heartbeat), restore tests and DR drills."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from careline.core.models import ClinicalService


class RecoveryPlan(models.Model):
    """A clinical service's recovery objectives and the plan that meets them.

    RPO: the most data, in minutes of work, the service may lose; its newest good backup must
    never be older. RTO: the longest it may be down; a DR drill shows whether it holds.
    """

    service = models.OneToOneField(
        ClinicalService, on_delete=models.CASCADE, related_name="recovery_plan"
    )
    rpo_minutes = models.PositiveIntegerField()
    rto_minutes = models.PositiveIntegerField()
    # Ordered steps, each a sentence or two: ["Fail over the database to DC2", ...].
    steps = models.JSONField(default=list, blank=True)
    # Who to call: [{"name", "role", "phone", "email"}], vendors' support lines included.
    contacts = models.JSONField(default=list, blank=True)
    # Services that must be back before this one can be (the EHR needs the directory).
    depends_on = models.ManyToManyField(
        ClinicalService, blank=True, related_name="recovery_dependents"
    )
    notes = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["service__tier", "service__code"]

    def __str__(self) -> str:
        return f"{self.service.code} RPO {self.rpo_minutes} min, RTO {self.rto_minutes} min"


class BackupJob(models.Model):
    """A backup of (part of) a clinical service's data, proven by its heartbeat monitor: each
    successful run pings it, so its newest success ping is the newest good backup."""

    name = models.CharField(max_length=200, unique=True)
    service = models.ForeignKey(
        ClinicalService, on_delete=models.PROTECT, related_name="backup_jobs"
    )
    monitor = models.OneToOneField(
        "monitoring.Monitor", on_delete=models.PROTECT, related_name="backup_job"
    )
    description = models.TextField(blank=True)  # what it copies, and where the copies live
    active = models.BooleanField(default=True)
    # Set while the newest good backup is older than the service's RPO.
    rpo_breached_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["service__code", "name"]

    def __str__(self) -> str:
        return self.name


class RestoreResult(models.TextChoices):
    PASSED = "passed", "Passed"
    PARTIAL = "partial", "Partly restored"
    FAILED = "failed", "Failed"


class RestoreTest(models.Model):
    """A backup restored on purpose to prove it can be: when, which backup, how it went."""

    job = models.ForeignKey(BackupJob, on_delete=models.CASCADE, related_name="restore_tests")
    tested_at = models.DateTimeField()
    result = models.CharField(max_length=8, choices=RestoreResult.choices)
    # When the restored copy was taken, and how long restoring it took.
    backup_taken_at = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-tested_at", "-id"]
        indexes = [models.Index(fields=["job", "tested_at"], name="restore_test_job_at")]

    def __str__(self) -> str:
        return f"{self.job} restore test {self.tested_at:%Y-%m-%d}: {self.result}"


class DrDrill(models.Model):
    """A disaster-recovery drill: the service was recovered on purpose, and timed.

    The objectives in force on the day are kept with it, so a later change to the plan does
    not rewrite whether the drill met them.
    """

    service = models.ForeignKey(ClinicalService, on_delete=models.PROTECT, related_name="dr_drills")
    scenario = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    recovered_at = models.DateTimeField()
    recovery_minutes = models.PositiveIntegerField()
    rto_minutes = models.PositiveIntegerField()
    met_rto = models.BooleanField()
    # Minutes of data lost on recovery, when measured, against the RPO of the day.
    data_loss_minutes = models.PositiveIntegerField(null=True, blank=True)
    rpo_minutes = models.PositiveIntegerField()
    met_rpo = models.BooleanField(null=True)
    participants = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["service", "started_at"], name="dr_drill_service_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(recovered_at__gt=models.F("started_at")),
                name="dr_drill_recovered_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service.code} DR drill {self.started_at:%Y-%m-%d}"
