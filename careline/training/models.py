"""Training sessions on the hospital's clinical systems, and who registered and attended."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from careline.core.models import ClinicalService, Site
from careline.training.choices import RegistrationStatus, SessionStatus


class TrainingSession(models.Model):
    """One session teaching one clinical system: when, where, who teaches, how many places."""

    service = models.ForeignKey(
        ClinicalService, on_delete=models.PROTECT, related_name="training_sessions"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_sessions_led"
    )
    capacity = models.PositiveIntegerField()
    place = models.CharField(max_length=200)
    # The site the session is held at: its time zone is the one the session is shown in.
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="training_sessions"
    )
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    cancel_reason = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            # The list of upcoming sessions and the reminder loop's "starting soon" query.
            models.Index(fields=["status", "starts_at"], name="training_session_due"),
            models.Index(fields=["service", "starts_at"], name="training_session_service"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="training_capacity_min"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="training_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.title} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def time_zone(self) -> str:
        """The site's time zone, or CareLine's own for a session not tied to a site.

        Reads self.site: select_related("site") in lists."""
        return self.site.time_zone if self.site is not None else settings.TIME_ZONE

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    def when(self) -> str:
        """ "Tue 10 Feb 2026, 09:00-11:00 EST" in the session's time zone, for pages and email."""
        start, end = self.starts_at.astimezone(self.zone), self.ends_at.astimezone(self.zone)
        if start.date() == end.date():
            return f"{start:%a %d %b %Y, %H:%M}-{end:%H:%M} {end:%Z}"
        return f"{start:%a %d %b %Y, %H:%M %Z} to {end:%a %d %b %Y, %H:%M %Z}"


class Registration(models.Model):
    """A person's place on a session (or on its waiting list), and whether they attended."""

    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="registrations"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_registrations"
    )
    status = models.CharField(max_length=16, choices=RegistrationStatus.choices)
    # When the person (re-)joined: the waiting list is served in this order.
    requested_at = models.DateTimeField()
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # None until the trainer marks it; then whether the person came.
    attended = models.BooleanField(null=True, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField(null=True, blank=True)
    # Set in the transaction that queues the reminder email: a reminder goes out once.
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "requested_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="training_one_place_each"),
        ]
        indexes = [
            models.Index(fields=["session", "status", "requested_at"], name="training_reg_queue"),
            # "Who is trained on which system" reads attended rows only.
            models.Index(
                fields=["user", "session"], condition=Q(attended=True), name="training_reg_attended"
            ),
            # The reminder loop's candidates: registered places not yet reminded.
            models.Index(
                fields=["session"],
                condition=Q(status="registered", reminded_at__isnull=True),
                name="training_reg_unreminded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.user_id} {self.status}"
