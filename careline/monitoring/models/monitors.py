from __future__ import annotations

import json
import uuid
from typing import Any

from django.db import models
from django.db.models import Q

from careline.core import crypto
from careline.core.models import ClinicalService, Department
from careline.monitoring.choices import MonitorKind, MonitorStatus, PingKind
from careline.servicedesk.choices import CareEffect, Scope


class Monitor(models.Model):
    """One thing CareLine watches: a check run every `interval_s`, or a heartbeat pushed to it.

    The engine claims due monitors by `next_due_at` and holds them with a lease while their
    check runs, so two engines never run the same check twice at once.
    """

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=MonitorKind.choices)
    # The kind's settings without its credentials; those live encrypted in `secrets`.
    config = models.JSONField(default=dict)
    secrets = models.TextField(blank=True, help_text="Fernet-encrypted JSON of credential keys")
    interval_s = models.PositiveIntegerField(default=60)
    timeout_s = models.FloatField(default=10.0)
    retries = models.PositiveSmallIntegerField(
        default=2, help_text="consecutive failures before down"
    )
    recover_after = models.PositiveSmallIntegerField(
        default=1, help_text="consecutive successes before a down monitor is up again"
    )
    service = models.ForeignKey(
        ClinicalService, null=True, blank=True, on_delete=models.PROTECT, related_name="monitors"
    )
    # Where its incidents are logged; the IT department when empty.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependents"
    )
    # The CMDB item this monitor watches: when set, its failure's clinical impact (care
    # effect and scope) is worked out from the CMDB instead of the two fields below.
    config_item = models.ForeignKey(
        "cmdb.ConfigItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="monitors",
    )
    care_effect = models.CharField(
        max_length=16, choices=CareEffect.choices, default=CareEffect.DEGRADED
    )
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.DEPARTMENT)
    tags = models.JSONField(default=list, blank=True)
    paused = models.BooleanField(default=False)

    status = models.CharField(
        max_length=16, choices=MonitorStatus.choices, default=MonitorStatus.UNKNOWN
    )
    status_since = models.DateTimeField(null=True, blank=True)
    fail_count = models.PositiveIntegerField(default=0)
    ok_count = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)

    # Scheduling: due when next_due_at has passed and no engine holds the lease.
    next_due_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    # Heartbeats: the unguessable id in the ping URL is the credential.
    ping_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    last_ping_kind = models.CharField(max_length=8, choices=PingKind.choices, blank=True)
    # The last ping the heartbeat watcher has judged; a newer last_ping_at is news.
    ping_seen_at = models.DateTimeField(null=True, blank=True)

    # Trends: a value forecast to cross this threshold opens a warning ticket.
    value_threshold = models.FloatField(null=True, blank=True)
    trend_window_s = models.PositiveIntegerField(default=6 * 3600)
    trend_warn_s = models.PositiveIntegerField(
        default=24 * 3600, help_text="warn this long before the forecast crossing"
    )

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            # The scheduler's one query: active polled monitors by due time.
            models.Index(
                fields=["next_due_at"],
                name="monitor_due",
                condition=Q(paused=False) & ~Q(kind=MonitorKind.HEARTBEAT),
            ),
            # The heartbeat watcher: active heartbeats by deadline.
            models.Index(
                fields=["next_due_at"],
                name="heartbeat_due",
                condition=Q(paused=False, kind=MonitorKind.HEARTBEAT),
            ),
            models.Index(fields=["service", "status"], name="monitor_service_status"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def is_heartbeat(self) -> bool:
        return self.kind == MonitorKind.HEARTBEAT

    def secret_values(self) -> dict[str, Any]:
        if not self.secrets:
            return {}
        values: dict[str, Any] = json.loads(crypto.decrypt(self.secrets))
        return values

    def set_secret_values(self, values: dict[str, Any]) -> None:
        self.secrets = crypto.encrypt(json.dumps(values)) if values else ""

    def full_config(self) -> dict[str, Any]:
        """The kind's settings with their credentials, for the check alone."""
        return {**self.config, **self.secret_values()}
