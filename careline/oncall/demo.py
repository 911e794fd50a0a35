"""The demo hospital's on-call set-up.

IT on call is weekly, between the demo's engineer and IT manager, handing over on Mondays at
09:00 on the Northgate clock. The CLINICAL escalation policy pages whoever is on call, then the
IT manager after 5 minutes, once more, and finally the admin; P1 and P2 page at once, P3 and P4
email in business hours. The engineer asks for a text at once for P1 and a call after 2
minutes unanswered.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from careline.core.models import Site, User
from careline.oncall.models import EscalationPolicy, Schedule
from careline.oncall.services import contacts, policies, schedule_changes

CODE = "IT-ONCALL"
PEOPLE = ["engineer", "manager"]
FALLBACK_ZONE = "America/New_York"


def load() -> None:
    """Idempotent: what already exists (by code) is left alone."""
    _schedule()
    _escalation()


def _schedule() -> None:
    with transaction.atomic():
        if Schedule.objects.filter(code=CODE).exists():
            return
        found = set(
            User.objects.filter(username__in=PEOPLE, is_active=True).values_list(
                "username", flat=True
            )
        )
        people = [name for name in PEOPLE if name in found]
        if not people:
            return
        site = Site.objects.filter(code="NORTH").first()
        zone = site.time_zone if site is not None else FALLBACK_ZONE
        today = timezone.localdate(timezone=zoneinfo.ZoneInfo(zone))
        schedule_changes.create_schedule(
            None,
            code=CODE,
            name="IT on call",
            time_zone=zone,
            description="Hospital IT's first responder, day and night.",
            layers=[
                {
                    "name": "Weekly",
                    "length_days": 7,
                    "handoff_time": "09:00",
                    "starts_on": today - timedelta(days=today.weekday()),
                    "members": people,
                }
            ],
        )


def _escalation() -> None:
    admin = User.objects.filter(username="admin", is_active=True).first()
    engineer = User.objects.filter(username="engineer", is_active=True).first()
    if admin is None or EscalationPolicy.objects.filter(code="CLINICAL").exists():
        return
    if not Schedule.objects.filter(code=CODE).exists():
        return
    with transaction.atomic():
        policies.create_policy(
            admin,
            code="CLINICAL",
            name="Clinical systems",
            description="Whoever is on call first; the IT manager if nobody answers.",
            repeat=1,
            final_user="admin",
            levels=[
                {"target_kind": "schedule", "schedule": CODE, "wait_minutes": 5},
                {"target_kind": "person", "user": "manager", "wait_minutes": 5},
            ],
        )
        policies.set_routes(
            admin,
            [
                {"priority": "P1", "policy": "CLINICAL", "urgency": "page"},
                {"priority": "P2", "policy": "CLINICAL", "urgency": "page"},
                {"priority": "P3", "policy": "CLINICAL", "urgency": "business_hours"},
                {"priority": "P4", "policy": "CLINICAL", "urgency": "business_hours"},
            ],
        )
        if engineer is not None:
            text = contacts.add_contact_method(
                admin, user="engineer", kind="sms", address="+1 617 555 0142", label="work mobile"
            )
            call = contacts.add_contact_method(
                admin, user="engineer", kind="voice", address="+1 617 555 0142", label="work mobile"
            )
            contacts.add_rule(admin, user="engineer", method=text.pk, priority="P1")
            contacts.add_rule(
                admin, user="engineer", method=call.pk, priority="P1", delay_minutes=2
            )
