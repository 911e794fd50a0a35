"""Places on a session: registering (or joining the waiting list), cancelling, the waiting list
moving up, and attendance.

Every function that changes who holds a place first locks the session row (SELECT ... FOR
UPDATE; on SQLite the write lock BEGIN IMMEDIATE takes), then counts: two people pressing
"Register" for the last place at once queue on that lock, and the second one finds it taken
and joins the waiting list.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from careline.core import audit
from careline.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from careline.core.models import User
from careline.oncall.outbox import batch
from careline.training.choices import RegistrationStatus
from careline.training.models import Registration, TrainingSession
from careline.training.services.common import email_person, get_session, runs

S = RegistrationStatus
REGISTRATION_FIELDS = ["session_id", "user_id", "status", "attended"]


def _held_places(session: TrainingSession) -> int:
    return Registration.objects.filter(session=session, status=S.REGISTERED).count()


def _open_for_registration(session: TrainingSession) -> None:
    if session.cancelled:
        raise Conflict(f"training session {session.pk} is cancelled", field="session")
    if session.starts_at <= timezone.now():
        raise Conflict(
            f"training session {session.pk} has already started; registration is closed",
            field="session",
        )


def register(actor: User | None, session_id: int, person: User | None = None) -> Registration:
    """A place for `person` (default: the actor), or a place on the waiting list when the
    session is full. Registering someone else is for the trainer and training managers."""
    if person is None:
        if actor is None:
            raise InvalidInput("name the person to register", field="user")
        person = actor
    if not person.is_active:
        raise InvalidInput(f"{person.username} is deactivated", field="user")
    with transaction.atomic():
        session = get_session(session_id, for_update=True)
        if actor is not None and person.pk != actor.pk and not runs(actor, session):
            raise Forbidden(
                "only the trainer or a training manager may register someone else", field="user"
            )
        _open_for_registration(session)
        now = timezone.now()
        registration = Registration.objects.filter(session=session, user=person).first()
        if registration is not None and registration.status != S.CANCELLED:
            where = "on the waiting list" if registration.status == S.WAITLISTED else "registered"
            raise Conflict(f"{person.username} is already {where}", field="user")
        status = S.REGISTERED if _held_places(session) < session.capacity else S.WAITLISTED
        if registration is None:
            registration = Registration(session=session, user=person)
        before = audit.snapshot(registration, REGISTRATION_FIELDS) if registration.pk else None
        registration.status = status
        # Re-joining after a cancellation goes to the back of the waiting list.
        registration.requested_at = now
        registration.registered_by = actor
        registration.cancelled_at = None
        registration.attended = None
        registration.marked_by = None
        registration.marked_at = None
        registration.reminded_at = None
        registration.save()
        audit.record(
            "training_registration.create",
            actor=actor,
            obj=registration,
            summary=f"{person.username} {'registered for' if status == S.REGISTERED else 'waitlisted on'} "
            f"training session {session.pk} ({session.title})",
            before=before,
            after=audit.snapshot(registration, REGISTRATION_FIELDS),
        )
        if actor is not None and actor.pk != person.pk:
            where = "a place on" if status == S.REGISTERED else "the waiting list for"
            email_person(
                person,
                session,
                f"Training booked: {session.title}",
                f"{actor.display_name} gave you {where} this training session.",
                f"training:booked:{registration.pk}:{now.isoformat()}",
            )
    registration.session = session
    return registration


def get_registration(registration_id: int) -> Registration:
    found = Registration.objects.select_related("user", "session").filter(pk=registration_id)
    registration = found.first()
    if registration is None:
        raise NotFound(f"no registration has id {registration_id}", field="registration")
    return registration


def _locked(registration_id: int) -> tuple[TrainingSession, Registration]:
    """The registration and its session, the session locked first (the order every writer
    uses, so two writers cannot deadlock)."""
    session_id = get_registration(registration_id).session_id
    session = get_session(session_id, for_update=True)
    registration = Registration.objects.select_related("user").get(pk=registration_id)
    return session, registration


def cancel_registration(actor: User | None, registration_id: int) -> Registration:
    """Give up a place (or a place in the queue). A freed place goes to the first person on
    the waiting list, who is told by email."""
    with transaction.atomic():
        session, registration = _locked(registration_id)
        mine = actor is not None and registration.user_id == actor.pk
        if not mine and not runs(actor, session):
            raise Forbidden(
                "only the person, the trainer or a training manager may cancel this",
                field="registration",
            )
        if registration.status == S.CANCELLED:
            raise Conflict("this registration is already cancelled", field="registration")
        if session.starts_at <= timezone.now():
            raise Conflict(
                f"training session {session.pk} has already started; mark attendance instead",
                field="session",
            )
        before = audit.snapshot(registration, REGISTRATION_FIELDS)
        registration.status = S.CANCELLED
        registration.cancelled_at = timezone.now()
        registration.save(update_fields=["status", "cancelled_at"])
        audit.record(
            "training_registration.cancel",
            actor=actor,
            obj=registration,
            summary=f"{registration.user.username} cancelled on training session {session.pk} "
            f"({session.title})",
            before=before,
            after=audit.snapshot(registration, REGISTRATION_FIELDS),
        )
        with batch():
            fill_from_waitlist(actor, session)
    return registration


def fill_from_waitlist(actor: User | None, session: TrainingSession) -> list[Registration]:
    """Give free places to the waiting list in the order people joined it, telling each.

    Call inside a transaction holding the session's lock."""
    if session.cancelled or session.starts_at <= timezone.now():
        return []
    free = session.capacity - _held_places(session)
    if free <= 0:
        return []
    promoted = list(
        Registration.objects.filter(session=session, status=S.WAITLISTED)
        .select_related("user")
        .order_by("requested_at", "id")[:free]
    )
    for registration in promoted:
        registration.status = S.REGISTERED
        registration.save(update_fields=["status"])
        audit.record(
            "training_registration.promote",
            actor=actor,
            obj=registration,
            summary=f"{registration.user.username} moved up from the waiting list of training "
            f"session {session.pk} ({session.title})",
            before={"status": S.WAITLISTED},
            after={"status": S.REGISTERED},
        )
        email_person(
            registration.user,
            session,
            f"You have a place: {session.title}",
            "A place came free on this training session and it is now yours. If you cannot "
            "come, cancel it so the next person on the waiting list can have it.",
            f"training:promoted:{registration.pk}:{registration.requested_at.isoformat()}",
        )
    return promoted


def mark_attendance(actor: User | None, registration_id: int, attended: bool) -> Registration:
    """Whether the person came. Once the session has started, by its trainer or a training
    manager; a mark may be corrected (the audit trail keeps both)."""
    if not isinstance(attended, bool):
        raise InvalidInput("must be true or false", field="attended")
    with transaction.atomic():
        session, registration = _locked(registration_id)
        if not runs(actor, session):
            raise Forbidden(
                "only the trainer or a training manager may mark attendance", field="attended"
            )
        if session.cancelled:
            raise Conflict(f"training session {session.pk} was cancelled", field="session")
        if session.starts_at > timezone.now():
            raise Conflict(f"training session {session.pk} has not started yet", field="attended")
        if registration.status != S.REGISTERED:
            raise Conflict(
                f"{registration.user.username} holds no place ({registration.status}); "
                "add them as a walk-in instead",
                field="registration",
            )
        before = audit.snapshot(registration, REGISTRATION_FIELDS)
        registration.attended = attended
        registration.marked_by = actor
        registration.marked_at = timezone.now()
        registration.save(update_fields=["attended", "marked_by", "marked_at"])
        audit.record(
            "training_registration.attendance",
            actor=actor,
            obj=registration,
            summary=f"{registration.user.username} {'attended' if attended else 'did not attend'} "
            f"training session {session.pk} ({session.title})",
            before=before,
            after=audit.snapshot(registration, REGISTRATION_FIELDS),
        )
    registration.session = session
    return registration


def add_walk_in(actor: User | None, session_id: int, person: User) -> Registration:
    """Someone who came without a place (or from the waiting list): recorded as attended.

    Only once the session has started; the room, not the booking, sets the limit then."""
    if not person.is_active:
        raise InvalidInput(f"{person.username} is deactivated", field="user")
    with transaction.atomic():
        session = get_session(session_id, for_update=True)
        if not runs(actor, session):
            raise Forbidden(
                "only the trainer or a training manager may add a walk-in", field="user"
            )
        if session.cancelled:
            raise Conflict(f"training session {session.pk} was cancelled", field="session")
        now = timezone.now()
        if session.starts_at > now:
            raise Conflict(
                f"training session {session.pk} has not started yet; register them instead",
                field="session",
            )
        registration = Registration.objects.filter(session=session, user=person).first()
        if registration is not None and registration.status == S.REGISTERED:
            raise Conflict(
                f"{person.username} already holds a place; mark their attendance",
                field="user",
            )
        if registration is None:
            registration = Registration(session=session, user=person, requested_at=now)
        before = audit.snapshot(registration, REGISTRATION_FIELDS) if registration.pk else None
        registration.status = S.REGISTERED
        registration.registered_by = actor
        registration.cancelled_at = None
        registration.attended = True
        registration.marked_by = actor
        registration.marked_at = now
        registration.save()
        audit.record(
            "training_registration.walk_in",
            actor=actor,
            obj=registration,
            summary=f"{person.username} attended training session {session.pk} "
            f"({session.title}) as a walk-in",
            before=before,
            after=audit.snapshot(registration, REGISTRATION_FIELDS),
        )
    registration.session = session
    return registration
