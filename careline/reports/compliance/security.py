"""Security incidents (SEC- tickets), their outcomes and breach-risk assessments, for the
people the service desk lets see them."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, Q

from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.reports.compliance.forms import PENDING
from careline.reports.compliance.tables import (
    Column,
    Report,
    Row,
    Table,
    local_start,
    plural,
    window,
)
from careline.servicedesk.choices import BreachRisk, Kind, SecurityOutcome
from careline.servicedesk.models import Ticket

SECURITY_COLUMNS = [
    Column("ticket", "Ticket"),
    Column("title", "Title"),
    Column("status", "Status"),
    Column("priority", "Priority"),
    Column("reported", "Reported"),
    Column("reported_by", "Reported by"),
    Column("department", "Department"),
    Column("breach_suspected", "PHI breach suspected"),
    Column("outcome", "Outcome", empty="not yet assessed"),
    Column("breach_risk", "Breach risk"),
    Column("assessment", "Assessment"),
    Column("resolved", "Resolved"),
]


def _security_row(ticket: Ticket) -> Row:
    return [
        ticket.number,
        ticket.title,
        ticket.get_status_display(),
        ticket.priority,
        ticket.created_at,
        ticket.requester.username,
        ticket.department.code,
        ticket.phi_breach_suspected,
        ticket.get_security_outcome_display() or None,
        ticket.get_breach_risk_display() or None,
        ticket.breach_assessment or None,
        ticket.resolved_at,
    ]


def security_incidents(
    actor: User, *, since: date | None = None, until: date | None = None, outcome: str = ""
) -> Report:
    require(actor, Perm.COMPLIANCE_VIEW)
    # The desk's own rule decides who sees which security incident (Ticket.visible_to).
    incidents = (
        Ticket.objects.visible_to(actor)
        .filter(kind=Kind.SECURITY)
        .select_related("requester", "department")
        .order_by("-created_at", "-id")
    )
    if since is not None:
        incidents = incidents.filter(created_at__gte=local_start(since))
    if until is not None:
        incidents = incidents.filter(created_at__lt=local_start(until + timedelta(days=1)))
    if outcome == PENDING:
        incidents = incidents.filter(security_outcome="")
    elif outcome:
        incidents = incidents.filter(security_outcome=outcome)
    counts = incidents.aggregate(
        total=Count("id"),
        pending=Count("id", filter=Q(security_outcome="")),
        breaches=Count("id", filter=Q(security_outcome=SecurityOutcome.BREACH_CONFIRMED)),
        high=Count("id", filter=Q(breach_risk=BreachRisk.HIGH)),
    )
    return Report(
        name="security-incidents",
        title="Security incidents and their outcomes",
        lead="Suspected breaches, malware and lost devices, with the outcome and breach-risk "
        "assessment each must have before it is closed.",
        filters={},
        summary=[
            plural(counts["total"], "security incident"),
            f"{counts['pending']} not yet assessed",
            plural(counts["breaches"], "confirmed breach", "confirmed breaches"),
            f"{counts['high']} assessed as high risk",
        ],
        tables=[
            Table(
                "incidents",
                "Security incidents",
                SECURITY_COLUMNS,
                counts["total"],
                lambda offset, limit: (
                    _security_row(t) for t in incidents[window(offset, limit)].iterator()
                ),
            )
        ],
    )
