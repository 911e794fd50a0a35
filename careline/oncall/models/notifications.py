"""The outbox: every message CareLine sends, one row per message and recipient."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from careline.core.models.places import code_validator


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice call"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WEBHOOK = "webhook", "Signed JSON webhook"


# Channels delivered to a configured endpoint (a WebhookTarget) rather than an address.
TARGET_CHANNELS = frozenset({Channel.SLACK, Channel.TEAMS, Channel.WEBHOOK})


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    DEAD = "dead", "Gave up (dead letter)"
    # Not needed any more: a delayed step of a page that was acknowledged first.
    CANCELLED = "cancelled", "Cancelled"


class WebhookTarget(models.Model):
    """A Slack or Teams incoming webhook, or a generic JSON receiver signed with HMAC.

    The URL carries the receiver's token, so it is a secret: stored encrypted (core.crypto),
    never returned by the API; likewise the HMAC signing key.
    """

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=16,
        choices=[(c.value, c.label) for c in (Channel.SLACK, Channel.TEAMS, Channel.WEBHOOK)],
    )
    url_encrypted = models.TextField()
    signing_key_encrypted = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind})"


class Notification(models.Model):
    """One message to one recipient, written in the same transaction as its cause.

    The engine's dispatcher claims due rows, sends them, and retries with backoff; nothing
    lives only in memory, so a crash or an outage of the receiver loses nothing. The
    idempotency key makes enqueuing the same message twice a no-op, and travels with the
    message (Message-ID, Idempotency-Key header) so a receiver can drop a repeat.
    """

    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    # An email address, an E.164 phone number, a chat handle, or a target's code.
    to = models.CharField(max_length=254)
    target = models.ForeignKey(
        WebhookTarget, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField(max_length=300)
    body = models.TextField()
    headers = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A claim that lapses: a dispatcher that dies mid-send gives the row back.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # Paging: who is being woken, for which page and at which escalation step (on-call load).
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    page = models.ForeignKey(
        "oncall.Page",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    page_level = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The dispatcher's "what is due" query.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["object_type", "object_id"], name="notification_object"),
            # The dead-letter list.
            models.Index(
                fields=["-created_at"], name="notification_dead", condition=Q(status="dead")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to}: {self.subject}"
