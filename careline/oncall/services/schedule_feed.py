"""A person's shifts on every schedule as an iCalendar feed, for their calendar app.

Calendar apps cannot sign in, so the feed's address carries a random secret; CareLine keeps
only its SHA-256 digest, shows the address once, and a new one revokes the old.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from careline.core import audit
from careline.core.links import absolute_url
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.oncall.models import CalendarFeed, Schedule
from careline.oncall.services.schedules import Shift, rota_of, schedules_with_relations, segments

FEED_BACK = timedelta(days=60)
FEED_AHEAD = timedelta(days=180)
# Shifts already running at the start of the window are read from this far earlier, so the
# event keeps its real start (and its UID) from one day's fetch to the next.
LEAD_IN = timedelta(days=30)


def feed_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedFeed:
    feed: CalendarFeed
    url: str  # shown once: only its digest is stored


@transaction.atomic
def issue_calendar_feed(actor: User) -> IssuedFeed:
    """A new secret feed link for the actor's own shifts; any earlier link stops working."""
    require(actor, Perm.ONCALL_VIEW)
    secret = secrets.token_urlsafe(32)
    renewed = CalendarFeed.objects.filter(user=actor).exists()
    feed, _ = CalendarFeed.objects.update_or_create(
        user=actor, defaults={"digest": feed_digest(secret), "created_at": timezone.now()}
    )
    audit.record(
        "calendar_feed.renew" if renewed else "calendar_feed.create",
        actor=actor,
        obj=feed,
        summary=f"Calendar feed of {actor.username} {'renewed' if renewed else 'created'}",
    )
    return IssuedFeed(feed, absolute_url(reverse("oncall:feed", args=[secret])))


def feed_owner(secret: str) -> User | None:
    """The active person a feed link belongs to, or None."""
    if not secret or len(secret) > 100:
        return None
    feed = (
        CalendarFeed.objects.filter(digest=feed_digest(secret), user__is_active=True)
        .select_related("user")
        .first()
    )
    return feed.user if feed is not None else None


@dataclass(frozen=True)
class FeedShift:
    schedule: Schedule
    shift: Shift

    @property
    def uid(self) -> str:
        # The schedule, person and start name a shift; a shift changed by an override
        # starts or ends elsewhere and is, to the calendar, a different event.
        user_id = self.shift.user.pk if self.shift.user is not None else 0
        return f"oncall-{self.schedule.pk}-{user_id}-{int(self.shift.start.timestamp())}@careline"


def person_shifts(user: User, now: datetime) -> list[FeedShift]:
    """The person's shifts on every schedule from FEED_BACK before `now` to FEED_AHEAD after,
    in four queries plus the computation."""
    start, end = now - FEED_BACK, now + FEED_AHEAD
    found: list[FeedShift] = []
    for schedule in schedules_with_relations(since=start - LEAD_IN):
        rota = rota_of(schedule)
        named = any(u.pk == user.pk for _, members in rota.layers for u in members) or any(
            o.user_id == user.pk for o in rota.overrides
        )
        if not named:
            continue
        for shift in segments(rota, start - LEAD_IN, end):
            if shift.user is not None and shift.user.pk == user.pk and shift.end > start:
                found.append(FeedShift(schedule, shift))
    found.sort(key=lambda f: (f.shift.start, f.schedule.code))
    return found


def calendar_of(user: User, now: datetime) -> bytes:
    calendar = Calendar.new(
        prodid="-//CareLine//On-call shifts//EN",
        name=f"On call: {user.display_name}",
        description="Your CareLine on-call shifts",
        refresh_interval=timedelta(hours=1),
        uid=f"oncall-feed-{user.pk}@careline",
    )
    for item in person_shifts(user, now):
        schedule, shift = item.schedule, item.shift
        calendar.add_component(
            Event.new(
                uid=item.uid,
                stamp=now,
                start=shift.start,
                end=shift.end,
                summary=f"On call: {schedule.name}",
                description=f"{schedule.name} ({schedule.code}), {shift.source}. "
                f"Hand-offs follow {schedule.time_zone} time.",
                url=absolute_url(reverse("oncall:schedule", args=[schedule.code])),
            )
        )
    return bytes(calendar.to_ical())
