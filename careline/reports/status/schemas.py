from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from careline.core.schemas import InSchema
from careline.reports.models import NoticeSeverity


class StatusNoticeIn(InSchema):
    title: str = Field(description="plain text, at most 200 characters; never patient details")
    text: str = Field("", description="plain text, at most 5000 characters")
    severity: NoticeSeverity = NoticeSeverity.INFO
    services: list[str] = Field(
        default_factory=list, description='clinical service codes it concerns, e.g. ["PACS"]'
    )
    expires_at: datetime | None = Field(None, description="taken down by itself at this time")


class ServiceRefOut(Schema):
    code: str
    name: str
    tier: int


class StatusNoticeOut(Schema):
    id: int
    title: str
    text: str
    severity: NoticeSeverity
    services: list[str]
    posted_by: str
    posted_at: datetime
    expires_at: datetime | None
    ended_at: datetime | None


class MonitorCountsOut(Schema):
    watched: int
    up: int
    down: int
    degraded: int
    unknown: int
    paused: int
    silenced: int


class ServiceStateOut(Schema):
    code: str
    name: str
    tier: int
    state: str = Field(description="operational, degraded, down, maintenance, downtime or unknown")
    reason: str
    since: datetime | None
    monitors: MonitorCountsOut = Field(alias="counts")
    failing: list[str] = Field(description="monitors down or degraded, not in maintenance")
    downtime: list[str] = Field(description="references of the active downtime events")
    maintenance: str = Field(description="the maintenance window in force, by name")
    maintenance_ends_at: datetime | None


class DowntimeUpdateOut(Schema):
    at: datetime
    text: str


class ActiveDowntimeOut(Schema):
    id: int
    reference: str
    title: str
    description: str
    kind: str
    services: list[ServiceRefOut]
    starts_at: datetime
    ends_at: datetime | None
    read_only_access: bool
    updates: list[DowntimeUpdateOut] = Field(description="newest first")


class ScheduledWorkOut(Schema):
    kind: str = Field(description="change, downtime or maintenance")
    title: str
    starts_at: datetime
    ends_at: datetime | None
    in_progress: bool
    services: list[ServiceRefOut]
    service_unavailable: bool
    change: str
    downtime: str


class StatusOut(Schema):
    generated_at: datetime
    overall: str = Field(description="the worst state of any service")
    headline: str
    counts: dict[str, int] = Field(description="services per state")
    services: list[ServiceStateOut]
    downtime: list[ActiveDowntimeOut]
    scheduled: list[ScheduledWorkOut]
    notices: list[StatusNoticeOut]
