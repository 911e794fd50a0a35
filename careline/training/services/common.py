"""What the training services share: loading a session, who may run it, and the emails."""

from __future__ import annotations

from django.db.models import Count, ExpressionWrapper, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest

from careline.core.errors import NotFound
from careline.core.links import absolute_url
from careline.core.models import User
from careline.core.permissions import Perm, has_perm
from careline.oncall.outbox import Email, enqueue_email
from careline.training.choices import RegistrationStatus
from careline.training.models import Registration, TrainingSession

SESSION_FIELDS = [
    "service_id",
    "title",
    "starts_at",
    "ends_at",
    "trainer_id",
    "capacity",
    "place",
    "site_id",
    "status",
]


def sessions() -> QuerySet[TrainingSession]:
    """Every session, with what its pages and emails read (service, trainer, site)."""
    return TrainingSession.objects.select_related("service", "trainer", "site")


def get_session(session_id: int, *, for_update: bool = False) -> TrainingSession:
    found = sessions()
    if for_update:
        # Lock the session row only: registrations for one session queue on it, so its
        # capacity holds however many people press "Register" at once.
        found = found.select_for_update(of=("self",))
    try:
        return found.get(pk=session_id)
    except TrainingSession.DoesNotExist:
        raise NotFound(f"no training session has id {session_id}", field="session") from None


def runs(actor: User | None, session: TrainingSession) -> bool:
    """Whether `actor` may run this session: register others, mark attendance.

    None is CareLine itself (demo loader, command line)."""
    if actor is None:
        return True
    return session.trainer_id == actor.pk or has_perm(actor, Perm.TRAINING_MANAGE)


def session_url(session: TrainingSession) -> str:
    return absolute_url(f"/training/{session.pk}/")


def email_person(person: User, session: TrainingSession, subject: str, text: str, key: str) -> None:
    """One email about a session to one person (none when they have no address)."""
    body = (
        f"{text}\n\n"
        f"{session.title} ({session.service.name})\n"
        f"When: {session.when()}\n"
        f"Where: {session.place}\n"
        f"Trainer: {session.trainer.display_name}\n\n"
        f"{session_url(session)}"
    )
    enqueue_email(Email(to=person.email, subject=subject, body=body, key=key[:200], about=session))


def with_counts(found: QuerySet[TrainingSession], viewer: User) -> QuerySet[TrainingSession]:
    """Sessions annotated with `registered`, `waitlisted`, `places_left` and the viewer's own
    `my_status`: subqueries, so a list of sessions is one query however long."""
    places = Registration.objects.filter(session=OuterRef("pk")).values("session")

    def counted(status: str) -> Coalesce:
        sub = places.filter(status=status).annotate(n=Count("id")).values("n")
        return Coalesce(Subquery(sub, output_field=IntegerField()), 0)

    mine = Registration.objects.filter(session=OuterRef("pk"), user=viewer).values("status")[:1]
    return found.annotate(
        registered=counted(RegistrationStatus.REGISTERED),
        waitlisted=counted(RegistrationStatus.WAITLISTED),
        my_status=Subquery(mine),
    ).annotate(
        places_left=Greatest(
            ExpressionWrapper(F("capacity") - F("registered"), output_field=IntegerField()),
            0,
        )
    )
