from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from careline.core.schemas import InSchema
from careline.training.choices import RegistrationStatus, SessionStatus

LONG = 20_000


class SessionIn(InSchema):
    service: str = Field(max_length=32, description="clinical service code, e.g. EHR")
    title: str = Field(max_length=200)
    description: str = Field("", max_length=LONG)
    starts_at: datetime = Field(description="with a time zone offset")
    ends_at: datetime = Field(description="with a time zone offset; after starts_at")
    trainer: str = Field(max_length=150, description="username of the trainer")
    capacity: int = Field(ge=1, le=1000, description="places on the session")
    place: str = Field(max_length=200, description="room or venue, e.g. 'Education Centre room 2'")
    site: str | None = Field(
        None, max_length=32, description="site code; the session is shown in its time zone"
    )


class SessionPatch(InSchema):
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=LONG)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    trainer: str | None = Field(None, max_length=150)
    capacity: int | None = Field(None, ge=1, le=1000)
    place: str | None = Field(None, max_length=200)
    site: str | None = Field(None, max_length=32, description="site code; null for none")


class SessionCancelIn(InSchema):
    reason: str = Field("", max_length=2000)


class SessionFilter(InSchema):
    service: str | None = Field(None, max_length=32, description="clinical service code")
    start: datetime | None = Field(None, alias="from", description="sessions ending after this")
    end: datetime | None = Field(None, alias="to", description="sessions starting before this")
    status: SessionStatus | None = None


class SessionOut(Schema):
    id: int
    service: str = Field(alias="service.code")
    service_name: str = Field(alias="service.name")
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    trainer: str = Field(alias="trainer.username")
    trainer_name: str = Field(alias="trainer.display_name")
    capacity: int
    place: str
    site: str | None = Field(None, alias="site.code")
    status: SessionStatus
    cancel_reason: str
    registered: int = Field(description="places taken")
    waitlisted: int = Field(description="people on the waiting list")
    places_left: int
    my_status: RegistrationStatus | None = Field(
        None, description="the caller's own registration, if any"
    )


class RegisterIn(InSchema):
    user: str | None = Field(
        None,
        max_length=150,
        description="username to register; omit to register yourself (others: trainer or "
        "training.manage only)",
    )


class AttendanceIn(InSchema):
    attended: bool


class RegistrationOut(Schema):
    id: int
    session: int = Field(alias="session_id")
    user: str = Field(alias="user.username")
    name: str = Field(alias="user.display_name")
    status: RegistrationStatus
    requested_at: datetime
    attended: bool | None
    marked_by: str | None = Field(None, alias="marked_by.username")
    marked_at: datetime | None
    reminded_at: datetime | None


class ArticleLinkOut(Schema):
    id: int
    title: str
    summary: str
    url: str


class SessionDetailOut(SessionOut):
    roster: list[RegistrationOut] | None = Field(
        None, description="everyone registered or waiting; trainer and training.manage only"
    )
    articles: list[ArticleLinkOut] = Field(
        description="published knowledge-base articles on the session's service you may read"
    )


class TrainedFilter(InSchema):
    service: str | None = Field(None, max_length=32, description="clinical service code")
    department: str | None = Field(None, max_length=32, description="department code")


class TrainedOut(Schema):
    user: str = Field(alias="user.username")
    name: str = Field(alias="user.display_name")
    department: str | None = Field(None, alias="user.department.code")
    service: str = Field(alias="service.code")
    first_trained_on: date = Field(alias="first_on")
    last_trained_on: date = Field(alias="last_on")
    sessions: int


class RecordOut(Schema):
    registration: int = Field(alias="id")
    session: int = Field(alias="session_id")
    title: str = Field(alias="session.title")
    service: str = Field(alias="session.service.code")
    starts_at: datetime = Field(alias="session.starts_at")
    session_status: SessionStatus = Field(alias="session.status")
    status: RegistrationStatus
    attended: bool | None
