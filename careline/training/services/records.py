"""Who is trained on which system: attended sessions, per person and clinical service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from careline.core.models import ClinicalService, Department, User
from careline.core.permissions import Perm, require
from careline.core.services import department_by_code, service_by_code
from careline.training.choices import RegistrationStatus, SessionStatus
from careline.training.models import Registration, TrainingSession
from careline.training.services.common import sessions

MAX_ROWS = 5000


@dataclass(frozen=True)
class Trained:
    """One person trained on one service: first and latest session attended, and how many."""

    user: User
    service: ClinicalService
    first_on: date
    last_on: date
    sessions: int


def _attended() -> QuerySet[Registration]:
    return Registration.objects.filter(
        attended=True,
        status=RegistrationStatus.REGISTERED,
        session__status=SessionStatus.SCHEDULED,
    )


def _local_date(at: datetime) -> date:
    return timezone.localtime(at).date()


def trained(
    actor: User, *, service: str | None = None, department: str | None = None
) -> list[Trained]:
    """Everyone who attended training, one row per person and service, by name then tier.

    `service` and `department` are codes; an unknown one is a 404 naming the field."""
    require(actor, Perm.USERS_VIEW)
    found = _attended()
    if service:
        found = found.filter(session__service=service_by_code(service, field="service"))
    if department:
        dept: Department = department_by_code(department, field="department")
        found = found.filter(user__department=dept)
    rows = list(
        found.values("user_id", "session__service_id")
        .annotate(
            first=Min("session__starts_at"),
            last=Max("session__starts_at"),
            count=Count("id"),
        )
        .order_by()[:MAX_ROWS]
    )
    users = User.objects.select_related("department").in_bulk({r["user_id"] for r in rows})
    services = ClinicalService.objects.in_bulk({r["session__service_id"] for r in rows})
    result = [
        Trained(
            user=users[r["user_id"]],
            service=services[r["session__service_id"]],
            first_on=_local_date(r["first"]),
            last_on=_local_date(r["last"]),
            sessions=r["count"],
        )
        for r in rows
    ]
    result.sort(key=lambda t: (t.user.display_name.lower(), t.service.tier, t.service.code))
    return result


def own_record(user: User) -> list[Registration]:
    """A person's training: every session they hold or held a place on, newest first."""
    return list(
        Registration.objects.filter(user=user)
        .select_related("session__service", "session__trainer", "session__site")
        .order_by("-session__starts_at", "-id")[:500]
    )


def upcoming(now: datetime | None = None) -> QuerySet[TrainingSession]:
    """Sessions that have not yet ended, soonest first (cancelled ones included, marked)."""
    return sessions().filter(ends_at__gt=now or timezone.now()).order_by("starts_at", "id")
