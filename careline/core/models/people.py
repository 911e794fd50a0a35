from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from careline.core.choices import Role
from careline.core.models.places import Department


class User(AbstractUser):
    """A person who signs in to CareLine: clinician, IT staff, auditor.

    Users are deactivated, never deleted: the audit trail refers to them for years.
    """

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REQUESTER)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    phone = models.CharField(max_length=32, blank=True)
    # TOTP second factor; the seed is encrypted at rest (core.crypto).
    totp_secret = models.TextField(blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last accepted 30-second step, so a code cannot be replayed within its window.
    totp_last_step = models.BigIntegerField(default=0)
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["username"]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def has_mfa(self) -> bool:
        return self.totp_confirmed_at is not None


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 digest is stored; the token is shown once.

    SHA-256 rather than Argon2: the token is 256 random bits, so a slow hash adds nothing
    but latency to every API call.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="shown in lists to tell tokens apart")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
