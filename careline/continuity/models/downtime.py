"""Downtime events: a clinical system is down (or will be) and wards work on paper."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from careline.core.models import ClinicalService, Department


class DowntimeKind(models.TextChoices):
    PLANNED = "planned", "Planned"
    UNPLANNED = "unplanned", "Unplanned"


class DowntimeStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended, recovering"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class DowntimeEvent(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=DowntimeKind.choices)
    status = models.CharField(max_length=16, choices=DowntimeStatus.choices)
    services = models.ManyToManyField(ClinicalService, related_name="downtime_events")
    # The departments affected, and so notified: CMDB reliance plus any named explicitly.
    departments = models.ManyToManyField(Department, related_name="downtime_events")
    tickets = models.ManyToManyField("servicedesk.Ticket", related_name="downtime_events")
    starts_at = models.DateTimeField()
    # Planned end (required for a planned event, optional for an unplanned one).
    ends_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    read_only_access = models.BooleanField(default=False)
    recovery_complete = models.BooleanField(default=False)
    recovered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the departments are to be told of a planned event, and when they were.
    announce_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    end_reminded_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=64, blank=True)  # e.g. the change that scheduled it
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [
            # The engine's "what is due" queries and the banner read only open events.
            models.Index(
                fields=["status", "starts_at"],
                name="downtime_open_idx",
                condition=Q(status__in=["scheduled", "active"]),
            ),
        ]

    def __str__(self) -> str:
        return f"DT-{self.pk} {self.title}"

    @property
    def reference(self) -> str:
        return f"DT-{self.pk:06d}"


class DowntimeUpdate(models.Model):
    event = models.ForeignKey(DowntimeEvent, on_delete=models.CASCADE, related_name="updates")
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.event_id} at {self.at:%Y-%m-%d %H:%M}"


class ChecklistKind(models.TextChoices):
    SERVICE_RESTORED = "service_restored", "Service restored"
    READ_ONLY_CLOSED = "read_only_closed", "Read-only access closed"
    BACK_ENTERED = "back_entered", "Paper records back-entered"


class ChecklistItem(models.Model):
    event = models.ForeignKey(DowntimeEvent, on_delete=models.CASCADE, related_name="checklist")
    kind = models.CharField(max_length=20, choices=ChecklistKind.choices)
    service = models.ForeignKey(
        ClinicalService, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    label = models.CharField(max_length=300)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.label


class DowntimeProcedure(models.Model):
    """What a department does on paper while a service is down; department None: everyone."""

    service = models.ForeignKey(
        ClinicalService, on_delete=models.CASCADE, related_name="downtime_procedures"
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="downtime_procedures",
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)  # Markdown, rendered through careline.core.markdown
    article = models.ForeignKey(
        "knowledge.Article", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    document_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["service__code", "department__code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "department"], name="downtime_procedure_once"
            ),
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(department__isnull=True),
                name="downtime_procedure_all_once",
            ),
        ]

    def __str__(self) -> str:
        return self.title
