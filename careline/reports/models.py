"""Reports' own records: the notices IT posts on the status page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from careline.core.models import ClinicalService


class NoticeSeverity(models.TextChoices):
    INFO = "info", "Information"
    WARNING = "warning", "Warning"
    OUTAGE = "outage", "Outage"


class StatusNotice(models.Model):
    """A general message IT posts on the status page ("Wi-Fi slow on level 3", "PACS upgrade
    tonight"): plain text, never patient details, shown until it expires or is ended."""

    title = models.CharField(max_length=200)
    # Plain text: shown escaped, line breaks kept; checked for likely PHI before it is saved.
    text = models.TextField(blank=True)
    severity = models.CharField(
        max_length=16, choices=NoticeSeverity.choices, default=NoticeSeverity.INFO
    )
    services = models.ManyToManyField(ClinicalService, blank=True, related_name="+")
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-posted_at", "-id"]
        indexes = [
            # The status page reads only notices not yet ended, on every refresh.
            models.Index(
                fields=["posted_at"], name="status_notice_open", condition=Q(ended_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.title
