from __future__ import annotations

from django.conf import settings
from django.db import models

from careline.core.models import ClinicalService, Site
from careline.core.models.places import code_validator
from careline.servicedesk.choices import AssignmentStrategy, Kind


class Queue(models.Model):
    """A team's work list: service desk, clinical applications, network, desktop, biomed, security."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="managed_queues",
    )
    strategy = models.CharField(
        max_length=16, choices=AssignmentStrategy.choices, default=AssignmentStrategy.MANUAL
    )
    # Members of a security queue may see security incidents.
    is_security = models.BooleanField(default=False)
    # Round robin remembers whom it gave the last ticket to.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class QueueMember(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_memberships"
    )
    # Only members on shift receive automatic assignments.
    on_shift = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "user"], name="queue_member_once")]

    def __str__(self) -> str:
        return f"{self.user} in {self.queue}"


class RoutingRule(models.Model):
    """Send matching tickets to a queue; the rule with the lowest `order` that matches wins.

    Every condition left empty matches anything; `keyword` matches a whole word of the title
    or description, case-insensitively.
    """

    order = models.PositiveIntegerField(default=100)
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="rules")
    service = models.ForeignKey(
        ClinicalService, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    keyword = models.CharField(max_length=64, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"rule {self.order} -> {self.queue.code}"
