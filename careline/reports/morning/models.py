"""What the morning check and the handover keep: each check as it was sent and who reviewed
it, each handover email sent, and the notes one shift leaves the next."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from careline.core.models import Site

NOTES_MAX = 2000


class MorningCheck(models.Model):
    """One site's morning check of one local date. The unique (site, date) row is the claim:
    a second engine, or the next tick, finds it and emails nothing again."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="morning_checks")
    date = models.DateField()
    # The check hour on that date, in the site's zone (stored in UTC).
    due_at = models.DateTimeField()
    generated_at = models.DateTimeField()
    # What was sent: the figures as JSON and the text of the email.
    snapshot = models.JSONField(default=dict)
    emailed_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-date", "site__code"]
        constraints = [
            models.UniqueConstraint(fields=["site", "date"], name="morning_check_once_per_day")
        ]

    def __str__(self) -> str:
        return f"morning check {self.site_id} {self.date}"


class HandoverSent(models.Model):
    """One site's handover email at one shift end; unique, so it is sent once."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    shift_ends_at = models.DateTimeField()
    generated_at = models.DateTimeField()
    snapshot = models.JSONField(default=dict)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-shift_ends_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "shift_ends_at"], name="handover_sent_once_per_shift"
            )
        ]

    def __str__(self) -> str:
        return f"handover {self.site_id} {self.shift_ends_at:%Y-%m-%d %H:%M}"


class HandoverNote(models.Model):
    """A note one shift writes for the next: 'the PACS vendor calls back at 08:00'."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField()
    # The start of the shift it is for (the end of the shift it was written in).
    shift_starts_at = models.DateTimeField()

    class Meta:
        ordering = ["shift_starts_at", "created_at", "id"]
        indexes = [models.Index(fields=["site", "shift_starts_at"], name="handover_note_shift")]

    def __str__(self) -> str:
        return f"note for {self.site_id} at {self.shift_starts_at:%Y-%m-%d %H:%M}"
