from datetime import datetime

from ninja import Field, Schema
from pydantic import BaseModel

from careline.core.schemas import InSchema
from careline.servicedesk.choices import (
    BreachRisk,
    CareEffect,
    Kind,
    LinkKind,
    Priority,
    ResolutionCode,
    Scope,
    SecurityOutcome,
    Status,
)
from careline.servicedesk.models import Attachment, Comment, Ticket


class TicketIn(InSchema):
    kind: Kind = Kind.INCIDENT
    title: str = Field(
        max_length=10_000, description="what is wrong, in a few words (at most 200 characters)"
    )
    description: str = Field("", max_length=100_000)
    department: str = Field(max_length=64, description="department code: where the problem is")
    service: str | None = Field(
        None, max_length=64, description="clinical service code: what is affected"
    )
    care_effect: CareEffect
    scope: Scope
    phi_breach_suspected: bool = Field(False, description="security incidents only")
    requester: str | None = Field(
        None, max_length=150, description="staff only: open on someone's behalf"
    )


class TicketPatch(InSchema):
    version: int = Field(ge=1, description="the version you read; a stale one is refused with 409")
    title: str | None = Field(None, max_length=10_000)
    description: str | None = Field(None, max_length=100_000)
    department: str | None = Field(None, max_length=64)
    service: str | None = Field(None, max_length=64, description="a code, or empty to clear")
    care_effect: CareEffect | None = None
    scope: Scope | None = None
    phi_breach_suspected: bool | None = None


class StatusIn(InSchema):
    status: Status
    version: int | None = Field(None, ge=1)
    resolution_code: ResolutionCode | None = None
    resolution_notes: str = Field("", max_length=20_000)


class AssignIn(InSchema):
    assignee: str | None = Field(None, max_length=150, description="username, or null to unassign")
    queue: str | None = Field(None, max_length=32, description="queue code; unchanged when absent")
    version: int | None = Field(None, ge=1)


class CommentIn(InSchema):
    body: str = Field(max_length=100_000)
    public: bool = Field(True, description="false: an internal note, staff only")
    minutes_spent: int = Field(0, ge=0, le=1440)


class PriorityIn(InSchema):
    priority: Priority
    reason: str = Field(max_length=1000)
    version: int | None = Field(None, ge=1)


class LinkIn(InSchema):
    target: int = Field(ge=1, description="id of the other ticket")
    kind: LinkKind


class MergeIn(InSchema):
    into: int = Field(ge=1, description="id of the ticket that carries the work")


class SecurityIn(InSchema):
    outcome: SecurityOutcome
    breach_risk: BreachRisk
    assessment: str = Field(max_length=20_000)
    version: int | None = Field(None, ge=1)


class PhiCheckIn(InSchema):
    title: str = Field("", max_length=10_000)
    description: str = Field("", max_length=100_000)


class PhiFinding(Schema):
    kind: str
    masked: str


class PhiCheckOut(Schema):
    flagged: bool
    message: str
    findings: list[PhiFinding]


class TicketOut(Schema):
    id: int
    number: str
    kind: Kind
    title: str
    description: str
    requester: str
    department: str
    site: str
    service: str | None
    care_effect: CareEffect
    scope: Scope
    priority: Priority
    priority_reason: str
    priority_overridden: bool
    status: Status
    queue: str | None
    assignee: str | None
    is_major: bool
    parent: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    respond_by: datetime
    resolve_by: datetime
    responded_at: datetime | None
    resolved_at: datetime | None
    response_result: str
    resolution_result: str
    resolution_code: str
    resolution_notes: str
    time_worked_minutes: int
    phi_flagged: bool
    phi_breach_suspected: bool
    affected_count: int = 0

    @staticmethod
    def resolve_requester(obj: Ticket) -> str:
        return obj.requester.username

    @staticmethod
    def resolve_department(obj: Ticket) -> str:
        return obj.department.code

    @staticmethod
    def resolve_site(obj: Ticket) -> str:
        return obj.site.code

    @staticmethod
    def resolve_service(obj: Ticket) -> str | None:
        return obj.service.code if obj.service else None

    @staticmethod
    def resolve_queue(obj: Ticket) -> str | None:
        return obj.queue.code if obj.queue else None

    @staticmethod
    def resolve_assignee(obj: Ticket) -> str | None:
        return obj.assignee.username if obj.assignee else None

    @staticmethod
    def resolve_parent(obj: Ticket) -> str | None:
        return obj.parent.number if obj.parent else None

    @staticmethod
    def resolve_priority_overridden(obj: Ticket) -> bool:
        return bool(obj.priority_override_reason)

    @staticmethod
    def resolve_affected_count(obj: Ticket) -> int:
        return int(getattr(obj, "affected_count", 0) or 0)


class CommentOut(Schema):
    id: int
    author: str
    body: str
    public: bool
    minutes_spent: int
    via: str
    created_at: datetime

    @staticmethod
    def resolve_author(obj: Comment) -> str:
        return obj.author_name


class TicketSummaryOut(BaseModel):
    """A ticket as the queue lists it; GET /tickets/{id} has every field.

    A plain pydantic model fed plain values: ninja's Schema reads Django objects through
    a wrapper that costs more than the whole page query.
    """

    id: int
    number: str
    kind: Kind
    title: str
    requester: str
    department: str
    site: str
    service: str | None
    care_effect: CareEffect
    scope: Scope
    priority: Priority
    priority_reason: str
    status: Status
    queue: str | None
    assignee: str | None
    is_major: bool
    created_at: datetime
    updated_at: datetime
    version: int
    respond_by: datetime
    resolve_by: datetime
    response_result: str
    resolution_result: str
    phi_flagged: bool


class TicketPage(BaseModel):
    items: list[TicketSummaryOut]
    count: int = Field(description="how many tickets match, up to 1,000")
    count_exact: bool = Field(
        description="false when more match than `count` says: over 1,000 tickets, or a search "
        "so broad that only its newest 500 matches were ranked"
    )


# How TicketSummaryOut's fields are read: one query of plain values, no model instances.
SUMMARY_VALUES: dict[str, str] = {
    "requester": "requester__username",
    "department": "department__code",
    "site": "site__code",
    "service": "service__code",
    "queue": "queue__code",
    "assignee": "assignee__username",
}


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    uploaded_by: str | None
    comment: int | None = Field(None, alias="comment_id")

    @staticmethod
    def resolve_uploaded_by(obj: Attachment) -> str | None:
        return obj.uploaded_by.username if obj.uploaded_by else None
