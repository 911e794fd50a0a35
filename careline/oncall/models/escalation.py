"""Who is told, in what order, and how long each level has to acknowledge."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from careline.core.models.places import ClinicalService, code_validator
from careline.oncall.models.schedules import Schedule


class TargetKind(models.TextChoices):
    SCHEDULE = "schedule", "Whoever is on call on a schedule"
    PERSON = "person", "A named person"
    QUEUE = "queue", "The members on shift in a queue"
    POLICY = "policy", "Hand over to another escalation policy"


class Urgency(models.TextChoices):
    # P1 and P2: page at once, day and night, through each person's rules.
    PAGE = "page", "Page at once, day and night"
    # P3 and P4: an email, held until the site's business hours open.
    BUSINESS_HOURS = "business_hours", "Email in business hours"


class EscalationPolicy(models.Model):
    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # How many more times the whole list of levels runs while nobody acknowledges.
    repeat = models.PositiveSmallIntegerField(default=1)
    # After the last round: the IT manager (or whoever is named here) is told.
    final_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name


class EscalationLevel(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField()
    target_kind = models.CharField(max_length=16, choices=TargetKind.choices)
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    queue = models.ForeignKey(
        "servicedesk.Queue", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handover = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Channel names (email, sms, voice, chat); empty = each person's own notification rules.
    channels = models.JSONField(default=list, blank=True)
    # Minutes to wait for an acknowledgement before the next level.
    wait_minutes = models.PositiveSmallIntegerField(default=5)

    class Meta:
        ordering = ["policy_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="level_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.policy_id}/{self.position} {self.target_kind}"


class EscalationRoute(models.Model):
    """Which policy handles a page, by priority and service; the first matching route wins
    (lowest position). A blank priority or no service matches any."""

    position = models.PositiveIntegerField(default=100)
    priority = models.CharField(max_length=2, blank=True)
    service = models.ForeignKey(
        ClinicalService, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="routes")
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.PAGE)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["position"], name="route_order", condition=Q(active=True))]

    def __str__(self) -> str:
        return f"route {self.position}: {self.priority or 'any'} -> {self.policy_id}"
