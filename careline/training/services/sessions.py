"""Planning training sessions: create, edit (capacity, time, place) and cancel.

Each function runs in one transaction with its audit event and the emails it causes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import Site, User
from careline.core.permissions import Perm, require
from careline.core.services import clean_name, service_by_code, site_by_code
from careline.oncall.outbox import batch
from careline.training.choices import RegistrationStatus, SessionStatus
from careline.training.models import Registration, TrainingSession
from careline.training.services.common import SESSION_FIELDS, email_person, get_session
from careline.training.services.registrations import fill_from_waitlist

MAX_CAPACITY = 1000
MAX_DESCRIPTION = 20_000
# A "session" longer than this is a course; plan its days as sessions of their own.
MAX_LENGTH = timedelta(days=14)
EDITABLE = (
    "title",
    "description",
    "starts_at",
    "ends_at",
    "trainer",
    "capacity",
    "place",
    "site",
)


def _aware(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput("must be a date and time, e.g. 2026-03-02T09:00:00-05:00", field=field)
    if timezone.is_naive(value):
        raise InvalidInput("must carry a time zone offset", field=field)
    return value


def _window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise InvalidInput(
            f"must be after starts_at (got {starts_at:%Y-%m-%d %H:%M} to {ends_at:%Y-%m-%d %H:%M})",
            field="ends_at",
        )
    if ends_at - starts_at > MAX_LENGTH:
        raise InvalidInput(
            f"must be at most {MAX_LENGTH.days} days after starts_at", field="ends_at"
        )


def _capacity(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"must be a whole number (got {str(value)[:20]!r})", field="capacity")
    if not 1 <= value <= MAX_CAPACITY:
        raise InvalidInput(f"must be between 1 and {MAX_CAPACITY} (got {value})", field="capacity")
    return value


def _trainer(username: str) -> User:
    trainer = User.objects.filter(username=username, is_active=True).first()
    if trainer is None:
        raise NotFound(f"no active user is called {username[:150]!r}", field="trainer")
    return trainer


def _description(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"must be at most {MAX_DESCRIPTION} characters (got {len(text)})", field="description"
        )
    return text


def _site(code: str | None) -> Site | None:
    return site_by_code(code, field="site") if code else None


def create_session(
    actor: User | None,
    *,
    service: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    trainer: str,
    capacity: int,
    place: str,
    description: str = "",
    site: str | None = None,
) -> TrainingSession:
    """A new scheduled session. `service`, `trainer` and `site` are a code, a username, a code."""
    if actor is not None:
        require(actor, Perm.TRAINING_MANAGE)
    found_service = service_by_code(service, field="service")
    starts = _aware(starts_at, "starts_at")
    ends = _aware(ends_at, "ends_at")
    _window(starts, ends)
    now = timezone.now()
    session = TrainingSession(
        service=found_service,
        title=clean_name(title, field="title"),
        description=_description(description),
        starts_at=starts,
        ends_at=ends,
        trainer=_trainer(trainer),
        capacity=_capacity(capacity),
        place=clean_name(place, field="place"),
        site=_site(site),
        created_at=now,
        updated_at=now,
    )
    with transaction.atomic():
        session.save(force_insert=True)
        audit.record(
            "training_session.create",
            actor=actor,
            obj=session,
            summary=f"Training session {session.title} ({found_service.code}) planned",
            after=audit.snapshot(session, SESSION_FIELDS),
        )
    return session


def _registered_count(session: TrainingSession) -> int:
    return Registration.objects.filter(
        session=session, status=RegistrationStatus.REGISTERED
    ).count()


def _apply(session: TrainingSession, data: dict[str, Any]) -> None:
    if "title" in data:
        session.title = clean_name(data["title"] or "", field="title")
    if "description" in data:
        session.description = _description(data["description"])
    if "place" in data:
        session.place = clean_name(data["place"] or "", field="place")
    if "trainer" in data:
        session.trainer = _trainer(data["trainer"] or "")
    if "site" in data:
        session.site = _site(data["site"])
    if "starts_at" in data:
        session.starts_at = _aware(data["starts_at"], "starts_at")
    if "ends_at" in data:
        session.ends_at = _aware(data["ends_at"], "ends_at")
    _window(session.starts_at, session.ends_at)
    if "capacity" in data:
        capacity = _capacity(data["capacity"])
        registered = _registered_count(session)
        if capacity < registered:
            raise InvalidInput(
                f"must be at least {registered}, the people already registered (got "
                f"{capacity}); cancel registrations first",
                field="capacity",
            )
        session.capacity = capacity


def update_session(actor: User, session_id: int, data: dict[str, Any]) -> TrainingSession:
    """Change what `data` names. A new time or place is emailed to everyone holding a place or
    waiting for one, and they are reminded again before the new time; more places go to the
    waiting list first."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise InvalidInput(
            f"cannot be changed here (editable: {', '.join(EDITABLE)})", field=sorted(unknown)[0]
        )
    if not data:
        raise InvalidInput("name at least one field to change", field="body")
    require(actor, Perm.TRAINING_MANAGE)
    with transaction.atomic():
        session = get_session(session_id, for_update=True)
        if session.cancelled:
            raise Conflict(
                f"training session {session.pk} is cancelled; plan a new one instead",
                field="status",
            )
        before = audit.snapshot(session, SESSION_FIELDS)
        _apply(session, data)
        now = timezone.now()
        session.updated_at = now
        session.save()
        after = audit.snapshot(session, SESSION_FIELDS)
        audit.record(
            "training_session.update",
            actor=actor,
            obj=session,
            summary=f"Training session {session.title} changed",
            before=before,
            after=after,
        )
        moved = any(before[f] != after[f] for f in ("starts_at", "ends_at", "place", "site_id"))
        with batch():
            if moved:
                _tell_moved(session, now)
            fill_from_waitlist(actor, session)
    return session


def _tell_moved(session: TrainingSession, now: datetime) -> None:
    holding = Registration.objects.filter(
        session=session,
        status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED],
    ).select_related("user")
    # Reminded about the old time: remind them again before the new one.
    holding.filter(status=RegistrationStatus.REGISTERED).update(reminded_at=None)
    for registration in holding:
        email_person(
            registration.user,
            session,
            f"Training moved: {session.title}",
            "The training session you are booked on has a new time or place.",
            f"training:moved:{registration.pk}:{now.isoformat()}",
        )


def cancel_session(actor: User, session_id: int, reason: str = "") -> TrainingSession:
    """Cancel a session that has not yet ended; everyone holding or waiting for a place is
    told. Registrations keep their status, so the roster still shows who was booked."""
    require(actor, Perm.TRAINING_MANAGE)
    reason = (reason or "").strip()
    if len(reason) > 2000:
        raise InvalidInput(f"must be at most 2000 characters (got {len(reason)})", field="reason")
    with transaction.atomic():
        session = get_session(session_id, for_update=True)
        if session.cancelled:
            raise Conflict(f"training session {session.pk} is already cancelled", field="status")
        now = timezone.now()
        if session.ends_at <= now:
            raise Conflict(f"training session {session.pk} has already taken place", field="status")
        session.status = SessionStatus.CANCELLED
        session.cancel_reason = reason
        session.cancelled_at = now
        session.updated_at = now
        session.save()
        audit.record(
            "training_session.cancel",
            actor=actor,
            obj=session,
            summary=f"Training session {session.title} cancelled"
            + (f": {reason}" if reason else ""),
            after={"status": session.status, "reason": reason},
        )
        told = Registration.objects.filter(
            session=session,
            status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED],
        ).select_related("user")
        with batch():
            for registration in told:
                email_person(
                    registration.user,
                    session,
                    f"Training cancelled: {session.title}",
                    "The training session you were booked on is cancelled."
                    + (f"\nReason: {reason}" if reason else ""),
                    f"training:cancelled:{registration.pk}",
                )
    return session
