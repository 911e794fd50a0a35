"""The hospital's on-call set-up for paging tests, made of plain rows.

Sam (engineer) is on call on IT-ONCALL all week; his rule for P1 is a text at once and a
call after 2 minutes. The CLINICAL policy pages whoever is on call, then Helen (the IT
manager) after 5 minutes, runs once more, and finally tells Alex (admin). P1 and P2 page at
once; P3 and P4 email in business hours through the same policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any

from django.utils import timezone

from careline.core.models import User
from careline.oncall.models import (
    ContactMethod,
    EscalationLevel,
    EscalationPolicy,
    EscalationRoute,
    Layer,
    LayerMember,
    Notification,
    NotificationRule,
    Schedule,
)
from tests.conftest import Hospital


@dataclass
class OnCall:
    hospital: Hospital
    schedule: Schedule
    policy: EscalationPolicy


def set_up(hospital: Hospital, *, repeat: int = 1) -> OnCall:
    now = timezone.now()
    for person in (hospital.engineer, hospital.manager, hospital.admin, hospital.agent):
        person.email = f"{person.username}@northgate.example"
        person.save(update_fields=["email"])
    schedule = Schedule.objects.create(
        code="IT-ONCALL", name="IT on call", time_zone="America/New_York", created_at=now
    )
    layer = Layer.objects.create(
        schedule=schedule,
        position=1,
        name="Weekly",
        length_days=7,
        handoff_time=time(8),
        starts_on=date(2020, 1, 6),
    )
    LayerMember.objects.create(layer=layer, user=hospital.engineer, position=0)
    sms = ContactMethod.objects.create(
        user=hospital.engineer, kind="sms", address="+15555550101", created_at=now
    )
    voice = ContactMethod.objects.create(
        user=hospital.engineer, kind="voice", address="+15555550101", created_at=now
    )
    NotificationRule.objects.create(
        user=hospital.engineer, priority="P1", method=sms, delay_minutes=0, created_at=now
    )
    NotificationRule.objects.create(
        user=hospital.engineer, priority="P1", method=voice, delay_minutes=2, created_at=now
    )
    policy = EscalationPolicy.objects.create(
        code="CLINICAL",
        name="Clinical systems",
        repeat=repeat,
        final_user=hospital.admin,
        created_at=now,
    )
    EscalationLevel.objects.create(
        policy=policy, position=1, target_kind="schedule", schedule=schedule, wait_minutes=5
    )
    EscalationLevel.objects.create(
        policy=policy, position=2, target_kind="person", user=hospital.manager, wait_minutes=5
    )
    EscalationRoute.objects.create(position=1, priority="P1", policy=policy, urgency="page")
    EscalationRoute.objects.create(position=2, priority="P2", policy=policy, urgency="page")
    EscalationRoute.objects.create(position=3, priority="", policy=policy, urgency="business_hours")
    return OnCall(hospital, schedule, policy)


def sent_to(user: User, **filters: Any) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, **filters).order_by("id"))
