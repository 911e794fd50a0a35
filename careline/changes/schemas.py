from __future__ import annotations

from datetime import datetime, time
from typing import Any

from ninja import Field, Schema

from careline.changes.choices import ChangeKind, ChangeState, ClinicalImpact, Complexity, Outcome
from careline.core.schemas import InSchema

LONG = 20_000


class ChangeIn(InSchema):
    kind: ChangeKind
    title: str = Field(max_length=200)
    description: str = Field("", max_length=LONG)
    template: int | None = Field(None, description="id of a standard change template")
    items: list[int] = Field(default_factory=list, description="ids of affected CMDB items")
    services: list[str] = Field(default_factory=list, description="clinical service codes")
    clinical_impact: ClinicalImpact = ClinicalImpact.NONE
    complexity: Complexity = Complexity.LOW
    tested: bool = False
    out_of_hours: bool = False
    implementation_plan: str = Field("", max_length=LONG)
    backout_plan: str = Field("", max_length=LONG)
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    service_unavailable: bool = False
    emergency_justification: str = Field("", max_length=LONG)


class ChangePatch(InSchema):
    version: int = Field(ge=1, description="the version you read; a stale one is refused with 409")
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=LONG)
    items: list[int] | None = None
    services: list[str] | None = None
    clinical_impact: ClinicalImpact | None = None
    complexity: Complexity | None = None
    tested: bool | None = None
    out_of_hours: bool | None = None
    implementation_plan: str | None = Field(None, max_length=LONG)
    backout_plan: str | None = Field(None, max_length=LONG)
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    service_unavailable: bool | None = None
    emergency_justification: str | None = Field(None, max_length=LONG)


class ChangeVersionIn(InSchema):
    version: int | None = Field(None, ge=1)


class ChangeDecisionIn(InSchema):
    comment: str = Field("", max_length=5000)
    emergency_justification: str = Field("", max_length=5000)


class ChangeStartIn(InSchema):
    emergency_justification: str = Field("", max_length=5000)


class ChangeCompleteIn(InSchema):
    outcome: Outcome
    notes: str = Field("", max_length=LONG)


class ChangeCancelIn(InSchema):
    reason: str = Field(max_length=5000)


class ChangeReviewIn(InSchema):
    notes: str = Field(max_length=LONG)


class ChangeApprovalOut(Schema):
    approver: str = Field(alias="approver.username")
    decision: str
    comment: str
    at: datetime


class ChangeConflictOut(Schema):
    kind: str
    message: str


class ChangeOut(Schema):
    id: int
    number: str
    kind: ChangeKind
    state: ChangeState
    title: str
    description: str
    template: int | None = Field(None, alias="template_id")
    requester: str = Field(alias="requester.username")
    items: list[int]
    services: list[str]
    impact: dict[str, Any]
    clinical_impact: ClinicalImpact
    complexity: Complexity
    tested: bool
    has_backout_plan: bool
    out_of_hours: bool
    risk_level: str
    risk_reason: str
    implementation_plan: str
    backout_plan: str
    planned_start: datetime | None
    planned_end: datetime | None
    service_unavailable: bool
    emergency_justification: str
    conflicts: list[ChangeConflictOut]
    approvals: list[ChangeApprovalOut]
    outcome: str
    outcome_notes: str
    review_notes: str
    maintenance_window: int | None = Field(None, alias="maintenance_window_id")
    version: int
    created_at: datetime
    approved_at: datetime | None

    @staticmethod
    def resolve_items(obj: Any) -> list[int]:
        return [i.pk for i in obj.items.all()]

    @staticmethod
    def resolve_services(obj: Any) -> list[str]:
        return [s.code for s in obj.services.all()]

    @staticmethod
    def resolve_approvals(obj: Any) -> list[Any]:
        return list(obj.approvals.all())


class ChangeSummaryOut(Schema):
    id: int
    number: str
    kind: ChangeKind
    state: ChangeState
    title: str
    risk_level: str
    services: list[str]
    planned_start: datetime | None
    planned_end: datetime | None

    @staticmethod
    def resolve_services(obj: Any) -> list[str]:
        return [s.code for s in obj.services.all()]


class ChangeFilter(InSchema):
    state: ChangeState | None = None
    service: str | None = Field(None, max_length=32)
    start: datetime | None = Field(None, alias="from", description="windows ending after this")
    end: datetime | None = Field(None, alias="to", description="windows starting before this")


class ChangeTemplateIn(InSchema):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=LONG)
    implementation_plan: str = Field("", max_length=LONG)
    backout_plan: str = Field("", max_length=LONG)
    services: list[str] = Field(default_factory=list)


class ChangeTemplateOut(Schema):
    id: int
    name: str
    description: str
    implementation_plan: str
    backout_plan: str
    services: list[str]

    @staticmethod
    def resolve_services(obj: Any) -> list[str]:
        return [s.code for s in obj.services.all()]


class BlackoutIn(InSchema):
    name: str = Field(max_length=200)
    services: list[str] = Field(default_factory=list, description="service codes; or all_services")
    all_services: bool = False
    starts_at: datetime | None = Field(None, description="one-off: from")
    ends_at: datetime | None = Field(None, description="one-off: until")
    weekdays: list[int] = Field(default_factory=list, description="weekly: 0 = Monday .. 6")
    start_time: time | None = Field(None, description="weekly: local start, e.g. 07:00")
    end_time: time | None = Field(None, description="weekly: local end, e.g. 18:00")
    time_zone: str = Field("UTC", max_length=64)
    reason: str = Field("", max_length=5000)


class BlackoutOut(Schema):
    id: int
    name: str
    all_services: bool
    services: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    weekdays: list[int]
    start_time: time | None
    end_time: time | None
    time_zone: str
    reason: str

    @staticmethod
    def resolve_services(obj: Any) -> list[str]:
        return [s.code for s in obj.services.all()]


class ChangeCalendarEntryOut(Schema):
    kind: str  # "change" or "blackout"
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    state: str
    services: list[str]


class ChangeCalendarDayOut(Schema):
    day: str
    entries: list[ChangeCalendarEntryOut]
