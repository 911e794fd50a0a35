from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Case, Exists, Q, Value, When

from careline.core.choices import Role
from careline.core.models import ClinicalService, Department, Site
from careline.servicedesk.choices import (
    OPEN_STATUSES,
    BreachRisk,
    CareEffect,
    Kind,
    LinkKind,
    Priority,
    ResolutionCode,
    Scope,
    SecurityOutcome,
    SlaResult,
    Status,
    Via,
)
from careline.servicedesk.models.queues import Queue, QueueMember

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careline.core.models import User

# Roles that see every ticket but security incidents; security incidents need clearance.
STAFF_ROLES = frozenset({Role.AGENT, Role.ENGINEER, Role.MANAGER, Role.AUDITOR, Role.ADMIN})
SECURITY_ROLES = frozenset({Role.MANAGER, Role.AUDITOR, Role.ADMIN})


class TicketQuerySet(models.QuerySet["Ticket"]):
    def visible_to(self, user: User | AnonymousUser) -> TicketQuerySet:
        """The tickets this person may see: the one place that rule lives.

        Requesters see their own tickets and their department's; staff see every ticket;
        security incidents are seen only by security-cleared staff and the person who
        reported them.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role in STAFF_ROLES:
            if user.role in SECURITY_ROLES:
                return self
            # Clearance (membership of a security queue) is a subquery of this one, not a
            # query of its own: every page of the desk asks.
            cleared = QueueMember.objects.filter(user=user, queue__is_security=True)
            return self.filter(~Q(kind=Kind.SECURITY) | Q(requester=user) | Exists(cleared))
        own = Q(requester=user)
        if user.department_id is not None:
            own |= Q(department_id=user.department_id) & ~Q(kind=Kind.SECURITY)
        return self.filter(own)

    def open(self) -> TicketQuerySet:
        # "IN (true)", not the bare column SQLite gets for "= true": only the first can use
        # the queue indexes, which all have `done` right after their leading filter.
        return self.filter(done__in=[False])


class TicketCounter(models.Model):
    """The last number given per kind: INC-000123 follows INC-000122, with no gaps from races."""

    kind = models.CharField(max_length=16, primary_key=True, choices=Kind.choices)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.kind} {self.last}"


class Ticket(models.Model):
    number = models.CharField(max_length=16, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INCIDENT)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tickets_requested",
        db_index=False,
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    # Copied from the department so the queue can filter and sort by site without a join.
    # (The foreign keys the queue filters on are indexed by the composite indexes below.)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    service = models.ForeignKey(
        ClinicalService,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    care_effect = models.CharField(max_length=16, choices=CareEffect.choices)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    priority_reason = models.CharField(max_length=300)
    # Set when an agent overrode the computed priority; inputs changing later keep the override.
    priority_override_reason = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    # Resolved or closed; kept by the database from `status`, never written by CareLine.
    # False sorts first, so "open tickets first, by priority and deadline" is index order.
    done = models.GeneratedField(
        expression=Case(
            When(status__in=sorted(OPEN_STATUSES), then=Value(False)), default=Value(True)
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    queue = models.ForeignKey(
        Queue,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets_assigned",
        db_index=False,
    )
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="tickets_watched"
    )
    # A major incident gathers its children; they follow its resolution.
    is_major = models.BooleanField(default=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Optimistic concurrency: every write bumps it; a write quoting an old one is refused.
    version = models.PositiveIntegerField(default=1)

    # SLA clocks.
    respond_by = models.DateTimeField()
    resolve_by = models.DateTimeField()
    # When 75 % of each target has gone: the engine's SLA watcher warns then.
    respond_warn_at = models.DateTimeField()
    resolve_warn_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    response_result = models.CharField(
        max_length=8, choices=SlaResult.choices, blank=True, default=""
    )
    resolution_result = models.CharField(
        max_length=8, choices=SlaResult.choices, blank=True, default=""
    )
    # Set by the engine's SLA watcher, so each warning and escalation is sent once.
    response_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    breach_escalated_at = models.DateTimeField(null=True, blank=True)

    resolution_code = models.CharField(max_length=16, choices=ResolutionCode.choices, blank=True)
    resolution_notes = models.TextField(blank=True)
    time_worked_minutes = models.PositiveIntegerField(default=0)
    reopened_count = models.PositiveSmallIntegerField(default=0)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.WEB)
    # The email that opened it, so a message delivered twice opens one ticket.
    message_id = models.CharField(max_length=300, blank=True)

    # Likely PHI in the text: notifications then carry a link only.
    phi_flagged = models.BooleanField(default=False)
    # Security incidents.
    phi_breach_suspected = models.BooleanField(default=False)
    security_outcome = models.CharField(max_length=20, choices=SecurityOutcome.choices, blank=True)
    breach_risk = models.CharField(max_length=12, choices=BreachRisk.choices, blank=True)
    breach_assessment = models.TextField(blank=True)
    # The failed item from the CMDB (its impact sets the priority: services/impact.py), and
    # the vendor the ticket waits on.
    config_item = models.ForeignKey(
        "cmdb.ConfigItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    vendor = models.ForeignKey(
        "cmdb.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two listeners given the same message cannot both open a ticket from it.
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="ticket_message_once"
            ),
        ]
        indexes = [
            # The agent queue and the API's lists: for each usual filter, an index that starts
            # with it, then open-or-not, then the queue's order, then what visibility checks.
            # Each is covering for "which ids, in what order" and for counting, so neither
            # reads a ticket row (the page's 50 rows are loaded afterwards).
            *[
                models.Index(
                    fields=[
                        *lead,
                        "done",
                        "priority",
                        "resolve_by",
                        "id",
                        "kind",
                        "requester",
                    ],
                    name=f"ticket_q_{name}",
                )
                for name, lead in (
                    ("all", []),
                    ("site", ["site"]),
                    ("dept", ["department"]),
                    ("queue", ["queue"]),
                    ("assignee", ["assignee"]),
                    ("service", ["service"]),
                )
            ],
            models.Index(fields=["status", "priority", "resolve_by"], name="ticket_status_prio"),
            models.Index(fields=["requester", "created_at"], name="ticket_requester"),
            # The SLA watcher's "what is due" queries stay cheap with 100k tickets.
            models.Index(
                fields=["respond_warn_at"],
                name="ticket_respond_due",
                condition=Q(response_result="", sla_paused_at__isnull=True),
            ),
            models.Index(
                fields=["resolve_warn_at"],
                name="ticket_resolve_due",
                condition=Q(resolution_result="", sla_paused_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Comment(models.Model):
    """A public reply (seen by the requester) or an internal note (staff only)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    body = models.TextField()
    public = models.BooleanField(default=True)
    minutes_spent = models.PositiveIntegerField(default=0)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.WEB)
    # The email that carried it, so a resent message is not added twice.
    message_id = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="comment_message_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{'reply' if self.public else 'note'} on {self.ticket_id} by {self.author_name}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.filename


class TicketLink(models.Model):
    source = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=16, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="ticket_link_once"),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="ticket_link_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.kind} {self.target_id}"


class AffectedPerson(models.Model):
    """Someone who has the same problem and said so instead of filing a duplicate."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="affected")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="affected_once")]

    def __str__(self) -> str:
        return f"{self.user_id} affected by {self.ticket_id}"


class SavedView(models.Model):
    """An agent's named set of queue filters."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=100)
    filters = models.JSONField(default=dict)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_once")
        ]

    def __str__(self) -> str:
        return self.name
