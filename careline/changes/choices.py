from __future__ import annotations

from django.db import models


class ChangeKind(models.TextChoices):
    STANDARD = "standard", "Standard (pre-approved template)"
    NORMAL = "normal", "Normal (advisory board approval)"
    EMERGENCY = "emergency", "Emergency (approved after the fact)"


class ChangeState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SCHEDULED = "scheduled", "Scheduled"
    IMPLEMENTING = "implementing", "Implementing"
    IMPLEMENTED = "implemented", "Implemented"
    FAILED = "failed", "Failed"
    BACKED_OUT = "backed_out", "Backed out"
    REVIEWED = "reviewed", "Reviewed"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class ClinicalImpact(models.TextChoices):
    NONE = "none", "No effect on patient care"
    DEGRADED = "degraded", "Care slower, a workaround exists"
    BLOCKED = "blocked", "Care cannot be given as normal"


class Complexity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Outcome(models.TextChoices):
    IMPLEMENTED = "implemented", "Implemented"
    FAILED = "failed", "Failed"
    BACKED_OUT = "backed_out", "Backed out"


class ConflictKind(models.TextChoices):
    OVERLAP = "overlap", "Another change on the same service"
    BLACKOUT = "blackout", "Clinical blackout period"
    NO_COVER = "no_cover", "Nobody on call"
