from __future__ import annotations

from django.db import models
from django.db.models import Q

from careline.monitoring.choices import PingKind, ResultStatus
from careline.monitoring.models.monitors import Monitor


class CheckRecord(models.Model):
    """One check's outcome, kept raw for CARELINE_MONITOR_RAW_DAYS, then only in rollups."""

    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ResultStatus.choices)
    latency_ms = models.FloatField()
    error = models.CharField(max_length=500, blank=True)
    value = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["monitor", "at"], name="result_monitor_at"),
            models.Index(fields=["at"], name="result_at"),
        ]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class Rollup(models.Model):
    """A minute's or an hour's results of one monitor, summed: what history keeps long-term."""

    MINUTE = 60
    HOUR = 3600

    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="rollups", db_index=False
    )
    period_s = models.PositiveIntegerField()
    start = models.DateTimeField()
    checks = models.PositiveIntegerField(default=0)
    up = models.PositiveIntegerField(default=0)
    degraded = models.PositiveIntegerField(default=0)
    down = models.PositiveIntegerField(default=0)
    latency_sum = models.FloatField(default=0.0)
    latency_max = models.FloatField(default=0.0)
    value_avg = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["monitor", "period_s", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["monitor", "period_s", "start"], name="rollup_once_per_period"
            )
        ]
        indexes = [models.Index(fields=["period_s", "start"], name="rollup_period_start")]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.period_s}s from {self.start:%Y-%m-%d %H:%M}"


class ServiceDay(models.Model):
    """One clinical service's checks at one site over one UTC day, summed from the hour
    rollups as they are made (monitors with no department count under no site): a year of
    uptime for every service reads tens of thousands of rows, not tens of millions."""

    service = models.ForeignKey(
        "core.ClinicalService", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    site = models.ForeignKey(
        "core.Site", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    checks = models.PositiveBigIntegerField(default=0)
    ok = models.PositiveBigIntegerField(default=0)  # up or degraded: the service worked

    class Meta:
        ordering = ["day", "service_id", "site_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "site", "day"],
                condition=Q(site__isnull=False),
                name="service_day_site_once",
            ),
            models.UniqueConstraint(
                fields=["service", "day"],
                condition=Q(site__isnull=True),
                name="service_day_nosite_once",
            ),
        ]
        indexes = [models.Index(fields=["day", "service"], name="service_day_day")]

    def __str__(self) -> str:
        return f"{self.service_id} at {self.site_id or '-'} on {self.day}: {self.ok}/{self.checks}"


class RollupMark(models.Model):
    """How far rollups of each size have been computed: a restart resumes from here."""

    period_s = models.PositiveIntegerField(primary_key=True)
    done_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.period_s}s rolled up until {self.done_until:%Y-%m-%d %H:%M}"


class HeartbeatPing(models.Model):
    """A ping pushed by a job: success, start or failure, with an optional value and log."""

    monitor = models.ForeignKey(
        Monitor, on_delete=models.CASCADE, related_name="pings", db_index=False
    )
    at = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=PingKind.choices)
    value = models.FloatField(null=True, blank=True)
    body = models.TextField(blank=True)
    remote_addr = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["monitor", "at"], name="ping_monitor_at")]

    def __str__(self) -> str:
        return f"{self.monitor_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"
