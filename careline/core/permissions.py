"""Who may do what. One table, checked by views, API handlers and services alike."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from careline.core.choices import Role
from careline.core.errors import Forbidden

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from careline.core.models import User


class Perm(StrEnum):
    PLACES_VIEW = "places.view"
    PLACES_MANAGE = "places.manage"
    USERS_VIEW = "users.view"
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    METRICS_VIEW = "metrics.view"
    ENGINE_VIEW = "engine.view"
    DESK_VIEW = "desk.view"  # the agent console and every ticket but security incidents
    TICKETS_OPEN = "tickets.open"
    DESK_MANAGE = "desk.manage"  # queues, routing rules, SLA targets, business hours
    CMDB_VIEW = "cmdb.view"  # items, relationships, impact, vendors, contracts, BAAs
    CMDB_MANAGE = "cmdb.manage"
    KB_EDIT = "kb.edit"  # write and publish articles (reading published ones needs no perm)
    MONITORS_VIEW = "monitors.view"
    MONITORS_MANAGE = "monitors.manage"
    ALERTS_POST = "alerts.post"  # Alertmanager and generic alert intake
    ONCALL_VIEW = "oncall.view"  # schedules, who is on call, pages, escalation policies
    ONCALL_RESPOND = "oncall.respond"  # acknowledge and resolve pages, page someone by hand
    ONCALL_MANAGE = "oncall.manage"  # schedules, overrides, policies, routes, delivery targets
    OUTBOX_MANAGE = "outbox.manage"  # read the dead-letter list and send a message again
    CHANGES_VIEW = "changes.view"  # change requests, the change calendar, blackouts
    CHANGES_EDIT = "changes.edit"  # raise, submit and carry out changes
    CHANGES_APPROVE = "changes.approve"  # the change advisory board; blackouts, templates
    DOWNTIME_MANAGE = "downtime.manage"  # declare, update, end and close downtime events
    COMPLIANCE_VIEW = "compliance.view"  # access review, PHI views, security incidents, BAAs
    TRAINING_MANAGE = "training.manage"  # training sessions, registering others, attendance
    RECOVERY_VIEW = "recovery.view"  # recovery plans, backups against RPO, drills, restore tests
    RECOVERY_MANAGE = "recovery.manage"  # recovery plans, backup jobs; record tests, drills
    MORNING_REVIEW = "morning.review"  # mark the morning check reviewed; handover notes
    REPORTS_VIEW = "reports.view"  # the dashboards under /reports/ and their exports


_STAFF_READ = {
    Perm.PLACES_VIEW,
    Perm.ENGINE_VIEW,
    Perm.DESK_VIEW,
    Perm.CMDB_VIEW,
    Perm.MONITORS_VIEW,
    Perm.ONCALL_VIEW,
    Perm.CHANGES_VIEW,
    Perm.RECOVERY_VIEW,
    Perm.REPORTS_VIEW,
}
_STAFF_WRITE = {
    Perm.USERS_VIEW,
    Perm.TICKETS_OPEN,
    Perm.KB_EDIT,
    Perm.ONCALL_RESPOND,
    Perm.DOWNTIME_MANAGE,
    Perm.CHANGES_EDIT,
    Perm.TRAINING_MANAGE,
    Perm.MORNING_REVIEW,
}
_ENGINEERING = {
    Perm.METRICS_VIEW,
    Perm.CMDB_MANAGE,
    Perm.MONITORS_MANAGE,
    Perm.ALERTS_POST,
    Perm.OUTBOX_MANAGE,
    Perm.RECOVERY_MANAGE,
}

ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.REQUESTER: frozenset({Perm.PLACES_VIEW, Perm.TICKETS_OPEN}),
    Role.AGENT: frozenset(_STAFF_READ | _STAFF_WRITE),
    Role.ENGINEER: frozenset(_STAFF_READ | _STAFF_WRITE | _ENGINEERING),
    Role.MANAGER: frozenset(
        _STAFF_READ
        | _STAFF_WRITE
        | _ENGINEERING
        | {Perm.DESK_MANAGE, Perm.ONCALL_MANAGE, Perm.CHANGES_APPROVE, Perm.COMPLIANCE_VIEW}
    ),
    # An auditor reads everything and changes nothing.
    Role.AUDITOR: frozenset(_STAFF_READ | {Perm.USERS_VIEW, Perm.AUDIT_VIEW, Perm.COMPLIANCE_VIEW}),
    Role.ADMIN: frozenset(Perm),
}


def has_perm(user: User | AnonymousUser, perm: Perm) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return perm in ROLE_PERMS.get(user.role, frozenset())


def require(user: User | AnonymousUser, perm: Perm) -> None:
    if not has_perm(user, perm):
        role = getattr(user, "role", "anonymous")
        raise Forbidden(f"the {role} role may not do this ({perm})")
