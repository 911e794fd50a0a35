"""Who is on call: schedules made of rotation layers, with overrides and shift swaps.

Times of day (hand-offs, restrictions) are wall-clock times in the schedule's time zone,
so an 08:00 hand-off stays at 08:00 across daylight-saving changes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from careline.core.models.places import code_validator


class Schedule(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Layer(models.Model):
    """One rotation. Where several layers cover an instant, the highest position wins.

    Shift k starts on local date `starts_on + k * length_days` at `handoff_time`
    (1 = daily, 7 = weekly) and goes to member k modulo the number of members. An optional
    daily restriction (for example 19:00-07:00, nights only) leaves the rest of the day to
    the layers below.
    """

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    length_days = models.PositiveSmallIntegerField(default=7)
    handoff_time = models.TimeField()
    starts_on = models.DateField()
    restrict_from = models.TimeField(null=True, blank=True)
    restrict_to = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["schedule_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "position"], name="layer_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.schedule.code}/{self.name}"


class LayerMember(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["layer_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "position"], name="layer_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.layer_id}#{self.position}: {self.user_id}"


class Override(models.Model):
    """Someone covers [starts_at, ends_at) over every layer. Overrides of one schedule never
    overlap. The two halves of a shift swap share a swap_id."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    swap_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["schedule_id", "starts_at"]
        indexes = [models.Index(fields=["schedule", "ends_at"], name="override_window")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """A person's iCalendar feed of their shifts. Calendar apps cannot sign in, so the feed's
    URL carries a random token; only its SHA-256 digest is stored. A new one revokes the old."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"calendar feed of {self.user_id}"
