"""Pages: a problem being escalated until somebody acknowledges it.

A page groups the incidents of one alert storm (several incidents on one service or one
root cause within a few minutes): the first opens the page and wakes someone; the rest join
it as items, and every later message of the page lists them all.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from careline.core.models.places import ClinicalService, Site
from careline.oncall.models.escalation import EscalationPolicy, Urgency


class PageStatus(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class PageSource(models.TextChoices):
    TICKET = "ticket", "A ticket"
    MONITORING = "monitoring", "Monitoring"
    SLA_BREACH = "sla_breach", "An SLA breach"
    MANUAL = "manual", "Paged by hand"


class Page(models.Model):
    title = models.CharField(max_length=300)
    # Never patient details: a ticket flagged for PHI is paged with its number and a link only.
    summary = models.TextField(blank=True)
    priority = models.CharField(max_length=2)
    source = models.CharField(max_length=16, choices=PageSource.choices)
    service = models.ForeignKey(
        ClinicalService, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="pages"
    )
    # The policy being walked now (a level may hand over to another policy).
    current_policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.PAGE)
    status = models.CharField(
        max_length=16, choices=PageStatus.choices, default=PageStatus.TRIGGERED
    )
    level = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=0)
    # When the next level is due (None once acknowledged, resolved or out of levels).
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Incidents sharing a key with this page until then join it instead of paging again.
    storm_until = models.DateTimeField()
    phi_flagged = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The escalation loop's "what is due" query.
            models.Index(
                fields=["next_escalation_at"],
                name="page_escalation_due",
                condition=Q(status="triggered"),
            ),
            models.Index(fields=["status", "-created_at"], name="page_status"),
        ]

    def __str__(self) -> str:
        return f"page {self.pk} {self.priority} {self.title}"

    @property
    def incident_count(self) -> int:
        """How many incidents the page holds: its items, counted when asked (a list of pages
        counts them all in its query, `with_counts`). Not a stored counter: every report of a
        storm would then update, and lock, the page's one row until its ticket commits."""
        counted = self.__dict__.get("counted_incidents")
        return int(counted) if counted is not None else self.items.count()


def with_counts(pages: models.QuerySet[Page]) -> models.QuerySet[Page]:
    """Pages with their incidents counted in the same query (for lists of pages)."""
    return pages.annotate(counted_incidents=models.Count("items"))


class PageItem(models.Model):
    """One incident in a page (the first, and every one that joined the storm)."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="items")
    ticket = models.ForeignKey(
        "servicedesk.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["page_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["page", "ticket"],
                name="page_item_ticket_unique",
                condition=Q(ticket__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.title


class PageKey(models.Model):
    """What a page groups by: `service:EHR`, `root:monitor:12`, `ticket:345`."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=200)
    storm_until = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "storm_until"], name="page_key_open")]
        constraints = [models.UniqueConstraint(fields=["page", "key"], name="page_key_unique")]

    def __str__(self) -> str:
        return self.key
