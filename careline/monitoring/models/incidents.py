from __future__ import annotations

from django.db import models
from django.db.models import Q

from careline.core.models import ClinicalService
from careline.monitoring.choices import IncidentSource
from careline.monitoring.models.monitors import Monitor
from careline.servicedesk.models import Ticket


class MonitorIncident(models.Model):
    """The link between a problem CareLine detected (a monitor, a trend, an outside alert) and
    the service-desk ticket it opened. The desk finds a monitor's tickets through it."""

    source = models.CharField(max_length=16, choices=IncidentSource.choices)
    monitor = models.ForeignKey(
        Monitor, null=True, blank=True, on_delete=models.CASCADE, related_name="incidents"
    )
    # An outside alert's identity (Alertmanager's fingerprint, a generic alert's key).
    alert_key = models.CharField(max_length=200, blank=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="monitor_incidents")
    opened_at = models.DateTimeField()
    # Down from when (the first failure), for the outage duration at recovery.
    down_since = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_note_at = models.DateTimeField(null=True, blank=True)
    last_note_error = models.CharField(max_length=500, blank=True)
    reopened_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["monitor", "source", "opened_at"], name="incident_monitor"),
            models.Index(fields=["source", "alert_key", "opened_at"], name="incident_alert"),
        ]
        constraints = [
            # One open incident per monitor and source, whichever engine gets there first.
            models.UniqueConstraint(
                fields=["monitor", "source"],
                condition=Q(resolved_at__isnull=True, monitor__isnull=False),
                name="incident_open_once_per_monitor",
            ),
            models.UniqueConstraint(
                fields=["source", "alert_key"],
                condition=Q(resolved_at__isnull=True) & ~Q(alert_key=""),
                name="incident_open_once_per_alert",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} incident {self.ticket_id}"


class MaintenanceWindow(models.Model):
    """A time when checks run but raise no incident or alert.

    One-off: `starts_at` to `ends_at`. Recurring: a cron rule (`recurrence`, in `time_zone`)
    whose every start opens a window of `duration_minutes`, from `starts_at` until `ends_at`
    (or for ever when empty). A recurring rule is never expanded in bulk: the window in force
    is found from the rule's previous start, and lists expand at most a bounded distance ahead.
    Scope: the monitors named, every monitor of the services named, every monitor carrying
    one of the tags.
    """

    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    recurrence = models.CharField(max_length=100, blank=True, help_text="cron, e.g. 0 2 * * SUN")
    duration_minutes = models.PositiveIntegerField(default=60)
    time_zone = models.CharField(max_length=64, default="UTC")
    monitors = models.ManyToManyField(Monitor, blank=True, related_name="maintenance_windows")
    services = models.ManyToManyField(ClinicalService, blank=True, related_name="+")
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return self.name
