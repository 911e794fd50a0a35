"""How each person is reached, and in what order."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from careline.oncall.models.notifications import WebhookTarget


class ContactKind(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    VOICE = "voice", "Phone call"
    CHAT = "chat", "Chat handle"  # posted through a Slack or Teams target, mentioning the handle


class ContactMethod(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods"
    )
    kind = models.CharField(max_length=16, choices=ContactKind.choices)
    # An email address, an E.164 number (+15551234567), or a chat handle (@sam).
    address = models.CharField(max_length=254)
    # For chat handles: the Slack or Teams target that carries the mention.
    target = models.ForeignKey(
        WebhookTarget, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    label = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["user_id", "kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "address"], name="contact_method_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.address}"


class NotificationRule(models.Model):
    """'P1: SMS at once, a call after 2 minutes unanswered.' Blank priority = any priority.

    A person with no rule for a priority is emailed at once at their account's address.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules"
    )
    priority = models.CharField(max_length=2, blank=True)
    method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="rules")
    delay_minutes = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["user_id", "priority", "delay_minutes", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "priority", "method", "delay_minutes"],
                name="notification_rule_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.priority or 'any'}: {self.method} after {self.delay_minutes} min"
