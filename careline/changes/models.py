"""Change requests, their approvals, templates for standard changes, and clinical blackouts."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from careline.changes.choices import (
    ChangeKind,
    ChangeState,
    ClinicalImpact,
    Complexity,
    Decision,
    RiskLevel,
)
from careline.cmdb.models import ConfigItem
from careline.core.models import ClinicalService
from careline.monitoring.models import MaintenanceWindow


class ChangeCounter(models.Model):
    """The last change number given: CHG-000124 follows CHG-000123, with no gaps from races."""

    key = models.CharField(max_length=8, primary_key=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key} {self.last}"


class ChangeTemplate(models.Model):
    """A pre-approved standard change: a change made from it is approved on submit."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    implementation_plan = models.TextField(blank=True)
    backout_plan = models.TextField(blank=True)
    services = models.ManyToManyField(ClinicalService, blank=True, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Change(models.Model):
    number = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    state = models.CharField(max_length=16, choices=ChangeState.choices, default=ChangeState.DRAFT)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    template = models.ForeignKey(
        ChangeTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="changes"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="changes_requested"
    )
    items = models.ManyToManyField(ConfigItem, blank=True, related_name="changes")
    services = models.ManyToManyField(ClinicalService, blank=True, related_name="changes")
    # The CMDB's answer when the change was last saved: services, departments, care effect.
    impact = models.JSONField(default=dict, blank=True)

    # The risk questionnaire and what it adds up to.
    clinical_impact = models.CharField(
        max_length=10, choices=ClinicalImpact.choices, default=ClinicalImpact.NONE
    )
    complexity = models.CharField(max_length=10, choices=Complexity.choices, default=Complexity.LOW)
    tested = models.BooleanField(default=False)
    has_backout_plan = models.BooleanField(default=False)
    out_of_hours = models.BooleanField(default=False)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW)
    risk_reason = models.CharField(max_length=300, blank=True)

    implementation_plan = models.TextField(blank=True)
    backout_plan = models.TextField(blank=True)
    planned_start = models.DateTimeField(null=True, blank=True)
    planned_end = models.DateTimeField(null=True, blank=True)
    # The service is down for the whole window: a planned downtime is announced on approval.
    service_unavailable = models.BooleanField(default=False)
    emergency_justification = models.TextField(blank=True)
    # Warnings found on submit: [{"kind": ..., "message": ...}].
    conflicts = models.JSONField(default=list, blank=True)

    outcome = models.CharField(max_length=16, blank=True)
    outcome_notes = models.TextField(blank=True)
    review_notes = models.TextField(blank=True)
    maintenance_window = models.ForeignKey(
        MaintenanceWindow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "planned_start"], name="change_state_start"),
            models.Index(fields=["planned_start", "planned_end"], name="change_window"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def blocking_conflicts(self) -> list[dict[str, str]]:
        return [c for c in self.conflicts if c.get("kind") == "blackout"]


class Approval(models.Model):
    """One advisory board member's decision on a change, with their comment."""

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["change", "approver"], name="change_approver_once")
        ]

    def __str__(self) -> str:
        return f"{self.change_id} {self.approver_id} {self.decision}"


class Blackout(models.Model):
    """A time no change may touch the services named (or all): one-off from starts_at to
    ends_at, or weekly on `weekdays` (0 = Monday) from start_time to end_time in time_zone."""

    name = models.CharField(max_length=200)
    all_services = models.BooleanField(default=False)
    services = models.ManyToManyField(ClinicalService, blank=True, related_name="+")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekdays = models.JSONField(default=list, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def weekly(self) -> bool:
        return bool(self.weekdays)
