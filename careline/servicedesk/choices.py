"""The service desk's enumerations; values are the lower-case words of DESIGN.md."""

from django.db import models


class Kind(models.TextChoices):
    INCIDENT = "incident", "Incident"
    REQUEST = "request", "Service request"
    SECURITY = "security", "Security incident"


NUMBER_PREFIX = {Kind.INCIDENT: "INC", Kind.REQUEST: "REQ", Kind.SECURITY: "SEC"}


class CareEffect(models.TextChoices):
    BLOCKED = "blocked", "Care cannot be given as normal"
    DEGRADED = "degraded", "Care is slower; there is a workaround"
    NONE = "none", "No effect on patient care"


class Scope(models.TextChoices):
    PERSON = "person", "Just me"
    DEPARTMENT = "department", "My department"
    SITE = "site", "The whole site"
    ENTERPRISE = "enterprise", "Every site"


WIDE_SCOPES = frozenset({Scope.DEPARTMENT, Scope.SITE, Scope.ENTERPRISE})


class Priority(models.TextChoices):
    P1 = "P1", "P1 critical"
    P2 = "P2", "P2 high"
    P3 = "P3", "P3 moderate"
    P4 = "P4", "P4 low"


class Status(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING_REQUESTER = "waiting_requester", "Waiting on requester"
    WAITING_VENDOR = "waiting_vendor", "Waiting on vendor"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = frozenset(
    {
        Status.NEW,
        Status.ASSIGNED,
        Status.IN_PROGRESS,
        Status.WAITING_REQUESTER,
        Status.WAITING_VENDOR,
    }
)


class SlaResult(models.TextChoices):
    PENDING = "", "Running"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"


class ResolutionCode(models.TextChoices):
    FIXED = "fixed", "Fixed"
    WORKAROUND = "workaround", "Workaround given"
    NO_FAULT = "no_fault", "No fault found"
    USER_GUIDANCE = "user_guidance", "Advice or training given"
    VENDOR_FIX = "vendor_fix", "Fixed by the vendor"
    DUPLICATE = "duplicate", "Duplicate of another ticket"
    CANCELLED = "cancelled", "Cancelled by the requester"


class SecurityOutcome(models.TextChoices):
    NO_BREACH = "no_breach", "No breach of PHI"
    BREACH_CONFIRMED = "breach_confirmed", "Breach of PHI confirmed"
    NOT_PHI = "not_phi", "Security event without PHI"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


class BreachRisk(models.TextChoices):
    """The HIPAA breach risk assessment's conclusion on the probability PHI was compromised."""

    LOW = "low", "Low probability of compromise"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High: notify"


class LinkKind(models.TextChoices):
    DUPLICATE_OF = "duplicate_of", "Duplicate of"
    CHILD_OF = "child_of", "Child of major incident"
    RELATED = "related", "Related to"


class AssignmentStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    LEAST_LOADED = "least_loaded", "Least loaded"
    MANUAL = "manual", "Manual"


class Via(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    EMAIL = "email", "Email"
