from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from careline.continuity.models import DowntimeKind, DowntimeStatus
from careline.core.schemas import InSchema


class DowntimeIn(InSchema):
    title: str = Field(max_length=200)
    description: str = Field("", max_length=5000)
    kind: DowntimeKind
    services: list[str] = Field(description='clinical service codes, e.g. ["EHR"]')
    departments: list[str] = Field(
        default_factory=list,
        description="department codes to notify besides those relying on the services",
    )
    starts_at: datetime | None = Field(None, description="defaults to now for an unplanned one")
    ends_at: datetime | None = Field(None, description="required for a planned one")
    read_only_access: bool = False


class CancelIn(InSchema):
    reason: str = Field(max_length=5000)


class UpdateIn(InSchema):
    text: str = Field(max_length=5000)


class TicketLinkIn(InSchema):
    ticket: str = Field(max_length=32, description="ticket number (INC-000012) or id")


class ProcedureIn(InSchema):
    service: str = Field(max_length=32)
    department: str | None = Field(None, max_length=32, description="blank: all departments")
    title: str = Field(max_length=200)
    body: str = Field("", max_length=20000, description="Markdown")
    article_id: int | None = None
    document_url: str = Field("", max_length=500)


class ProcedureOut(Schema):
    id: int
    service: str = Field(alias="service.code")
    department: str | None = Field(None, alias="department.code")
    title: str
    body: str
    article_id: int | None
    document_url: str


class UpdateOut(Schema):
    id: int
    text: str
    author: str | None = Field(None, alias="author.username")
    at: datetime


class ChecklistItemOut(Schema):
    id: int
    kind: str
    label: str
    service: str | None = Field(None, alias="service.code")
    department: str | None = Field(None, alias="department.code")
    done_by: str | None = Field(None, alias="done_by.username")
    done_at: datetime | None


class DowntimeOut(Schema):
    id: int
    reference: str
    title: str
    description: str
    kind: DowntimeKind
    status: DowntimeStatus
    services: list[str]
    departments: list[str]
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    read_only_access: bool
    recovery_complete: bool
    announce_at: datetime | None
    notified_at: datetime | None
    closed_at: datetime | None
    source: str
    tickets: list[str]


class DowntimeDetailOut(DowntimeOut):
    updates: list[UpdateOut]
    checklist: list[ChecklistItemOut]


class ReportOut(Schema):
    event_id: int
    reference: str
    kind: str
    status: str
    services: list[str]
    departments: list[str]
    starts_at: datetime
    ended_at: datetime | None
    duration_minutes: float
    time_to_notify_minutes: float | None
    time_to_recover_minutes: float | None
    checklist_done: int
    checklist_total: int
    tickets: list[str]
