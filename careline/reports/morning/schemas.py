"""The API's shapes for the morning check and the handover (times in UTC, ISO 8601)."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from careline.reports.morning.models import NOTES_MAX


class ServiceOut(Schema):
    code: str
    name: str
    tier: int
    state: str = Field(description="downtime, down, degraded, maintenance, unknown, operational")
    label: str
    reason: str
    since: datetime | None


class MonitorOut(Schema):
    id: int
    name: str
    kind: str
    status: str
    service: str
    since: datetime | None
    error: str


class MonitorsOut(Schema):
    items: list[MonitorOut]
    total: int
    more: int


class BackupOut(Schema):
    service: str
    job: str
    last_good_at: datetime | None
    age_minutes: int | None
    rpo_minutes: int | None
    within_rpo: bool | None = Field(description="null when the service has no RPO")


class BackupsOut(Schema):
    items: list[BackupOut]
    total: int
    more: int


class TicketOut(Schema):
    id: int
    number: str
    title: str
    kind: str
    priority: str
    status: str
    created_at: datetime
    is_open: bool
    from_monitor: bool


class TicketsOut(Schema):
    items: list[TicketOut]
    total: int
    more: int


class BreachOut(Schema):
    id: int
    number: str
    title: str
    priority: str
    target: str = Field(description="response or resolution")
    due_at: datetime
    is_open: bool


class BreachesOut(Schema):
    items: list[BreachOut]
    total: int
    more: int


class ExpiryOut(Schema):
    name: str
    ends_on: date | None
    days_left: int
    detail: str


class ExpiriesOut(Schema):
    items: list[ExpiryOut]
    total: int
    more: int


class ChangeOut(Schema):
    id: int
    number: str
    title: str
    state: str
    risk_level: str
    planned_start: datetime | None
    planned_end: datetime | None
    services: list[str]


class ChangesOut(Schema):
    items: list[ChangeOut]
    total: int
    more: int


class OnCallOut(Schema):
    schedule: str
    schedule_name: str
    person: str = Field(description="empty when nobody is on call")
    until: datetime | None


class MorningReportOut(Schema):
    site: str
    site_name: str
    time_zone: str
    date: date
    due_at: datetime
    at: datetime
    since: datetime
    services: list[ServiceOut]
    service_counts: dict[str, int]
    monitors: MonitorsOut
    monitors_down: int
    monitors_degraded: int
    backups: BackupsOut
    backups_stale: int
    overnight: TicketsOut
    overnight_by_priority: dict[str, int]
    breaches: BreachesOut
    open_in_breach: int
    certificates: ExpiriesOut
    warranties: ExpiriesOut
    contracts: ExpiriesOut
    baas: ExpiriesOut
    changes: ChangesOut
    on_call: list[OnCallOut]
    security_left_out: bool


class CheckRecordOut(Schema):
    id: int
    site: str
    date: date
    due_at: datetime
    generated_at: datetime
    emailed_at: datetime | None
    recipients: int
    reviewed_by: str | None
    reviewed_at: datetime | None
    notes: str


class MorningCheckOut(Schema):
    headline: str
    record: CheckRecordOut | None = Field(
        description="the stored check of the day (made at the check hour); null before then"
    )
    report: MorningReportOut


class ReviewIn(Schema):
    notes: str = Field("", max_length=NOTES_MAX)


class OpenTicketOut(Schema):
    id: int
    number: str
    title: str
    kind: str
    status: str
    assignee: str
    resolve_by: datetime
    note: str
    note_by: str
    note_at: datetime | None


class OpenTicketsOut(Schema):
    items: list[OpenTicketOut]
    total: int
    more: int


class PriorityGroupOut(Schema):
    priority: str
    label: str
    tickets: OpenTicketsOut


class IncidentOut(Schema):
    ticket_id: int
    number: str
    title: str
    source: str
    what: str
    since: datetime


class IncidentsOut(Schema):
    items: list[IncidentOut]
    total: int
    more: int


class NoteOut(Schema):
    id: int
    author: str
    text: str
    created_at: datetime


class HandoverOut(Schema):
    site: str
    site_name: str
    time_zone: str
    at: datetime
    shift_start: datetime
    shift_end: datetime
    next_end: datetime
    open_total: int
    groups: list[PriorityGroupOut]
    incidents: IncidentsOut
    notes_for_next: list[NoteOut]
    notes_for_this: list[NoteOut]
    changes: ChangesOut
    security_left_out: bool


class HandoverNoteIn(Schema):
    text: str = Field(..., max_length=NOTES_MAX)
    site: str = Field("", description="site code; the caller's own site when empty")


class HandoverNoteOut(Schema):
    id: int
    site: str
    author: str
    text: str
    created_at: datetime
    shift_starts_at: datetime
