"""/api/v1/training/...: sessions, registrations, attendance, and who is trained on what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from careline.core.callers import signed_in
from careline.core.errors import InvalidInput, NotFound
from careline.core.models import User
from careline.core.services import service_by_code, user_by_username
from careline.training.choices import RegistrationStatus
from careline.training.models import Registration, TrainingSession
from careline.training.schemas import (
    AttendanceIn,
    RecordOut,
    RegisterIn,
    RegistrationOut,
    SessionCancelIn,
    SessionDetailOut,
    SessionFilter,
    SessionIn,
    SessionOut,
    SessionPatch,
    TrainedFilter,
    TrainedOut,
)
from careline.training.services import articles, records, registrations, sessions
from careline.training.services.common import runs, with_counts
from careline.training.services.common import sessions as all_sessions
from careline.training.services.records import Trained

router = Router(tags=["training"])


def _counted(user: User, session_id: int) -> TrainingSession:
    found = with_counts(all_sessions(), user).filter(pk=session_id).first()
    if found is None:
        raise NotFound(f"no training session has id {session_id}", field="session")
    return found


@dataclass
class _Detail:
    """A session as the detail schema reads it: the session's own fields, its roster (for
    those who run it) and the articles the caller may read."""

    session: TrainingSession
    roster: list[Registration] | None
    articles: list[dict[str, Any]]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def _detail(user: User, session_id: int) -> _Detail:
    session = _counted(user, session_id)
    roster = None
    if runs(user, session):
        roster = list(
            session.registrations.exclude(status=RegistrationStatus.CANCELLED)
            .select_related("user", "marked_by")
            .order_by("status", "requested_at", "id")
        )
    links = [
        {"id": a.pk, "title": a.title, "summary": a.summary, "url": f"/kb/{a.pk}/"}
        for a in articles.for_session(user, session)
    ]
    return _Detail(session, roster, links)


@router.get("/training/sessions", response=list[SessionOut])
def list_sessions(request: HttpRequest, filters: Query[SessionFilter]) -> QuerySet[TrainingSession]:
    found = all_sessions()
    if filters.service:
        found = found.filter(service=service_by_code(filters.service, field="service"))
    if filters.start:
        found = found.filter(ends_at__gt=filters.start)
    if filters.end:
        found = found.filter(starts_at__lt=filters.end)
    if filters.status:
        found = found.filter(status=filters.status)
    return with_counts(found, signed_in(request)).order_by("starts_at", "id")[:500]


@router.post("/training/sessions", response={201: SessionDetailOut})
def create_session(request: HttpRequest, payload: SessionIn) -> Status[_Detail]:
    user = signed_in(request)
    session = sessions.create_session(user, **payload.dict())
    return Status(201, _detail(user, session.pk))


@router.get("/training/sessions/{session_id}", response=SessionDetailOut)
def get_session(request: HttpRequest, session_id: int) -> _Detail:
    return _detail(signed_in(request), session_id)


@router.patch("/training/sessions/{session_id}", response=SessionDetailOut)
def patch_session(request: HttpRequest, session_id: int, payload: SessionPatch) -> _Detail:
    user = signed_in(request)
    sessions.update_session(user, session_id, payload.dict(exclude_unset=True))
    return _detail(user, session_id)


@router.post("/training/sessions/{session_id}/cancel", response=SessionDetailOut)
def cancel_session(
    request: HttpRequest, session_id: int, payload: SessionCancelIn | None = None
) -> _Detail:
    user = signed_in(request)
    sessions.cancel_session(user, session_id, payload.reason if payload else "")
    return _detail(user, session_id)


@router.post("/training/sessions/{session_id}/register", response={201: RegistrationOut})
def register(
    request: HttpRequest, session_id: int, payload: RegisterIn | None = None
) -> Status[Registration]:
    user = signed_in(request)
    person = user_by_username(payload.user, field="user") if payload and payload.user else None
    return Status(201, registrations.register(user, session_id, person))


@router.post("/training/sessions/{session_id}/walk-in", response={201: RegistrationOut})
def walk_in(request: HttpRequest, session_id: int, payload: RegisterIn) -> Status[Registration]:
    user = signed_in(request)
    if not payload.user:
        raise InvalidInput("name the person who came (their username)", field="user")
    person = user_by_username(payload.user, field="user")
    return Status(201, registrations.add_walk_in(user, session_id, person))


@router.post("/training/registrations/{registration_id}/cancel", response=RegistrationOut)
def cancel_registration(request: HttpRequest, registration_id: int) -> Registration:
    return registrations.cancel_registration(signed_in(request), registration_id)


@router.post("/training/registrations/{registration_id}/attendance", response=RegistrationOut)
def attendance(request: HttpRequest, registration_id: int, payload: AttendanceIn) -> Registration:
    return registrations.mark_attendance(signed_in(request), registration_id, payload.attended)


@router.get("/training/trained", response=list[TrainedOut])
def trained(request: HttpRequest, filters: Query[TrainedFilter]) -> list[Trained]:
    return records.trained(
        signed_in(request), service=filters.service, department=filters.department
    )


@router.get("/training/trained/me", response=list[RecordOut])
def my_record(request: HttpRequest) -> list[Registration]:
    return records.own_record(signed_in(request))
