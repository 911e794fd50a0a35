from datetime import date, time

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from careline.core.callers import signed_in
from careline.core.permissions import Perm, require
from careline.servicedesk.choices import AssignmentStrategy, Kind, Priority
from careline.servicedesk.models import Queue, RoutingRule, SlaPolicy
from careline.servicedesk.services import config

router = Router(tags=["service desk setup"])


class MemberOut(Schema):
    username: str = Field(alias="user.username")
    on_shift: bool


class QueueOut(Schema):
    code: str
    name: str
    strategy: AssignmentStrategy
    is_security: bool
    manager: str | None = Field(None, alias="manager.username")
    members: list[MemberOut] = Field(alias="memberships.all")


class QueueIn(Schema):
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    strategy: AssignmentStrategy = AssignmentStrategy.MANUAL
    is_security: bool = False
    manager: str | None = Field(None, max_length=150)


class MemberIn(Schema):
    username: str = Field(max_length=150)
    on_shift: bool = True


class ShiftIn(Schema):
    on_shift: bool
    username: str | None = Field(
        None, max_length=150, description="admins only: someone else's shift"
    )


@router.get("/queues", response=list[QueueOut])
def list_queues(request: HttpRequest) -> QuerySet[Queue]:
    require(signed_in(request), Perm.DESK_VIEW)
    return (
        Queue.objects.select_related("manager")
        .prefetch_related("memberships__user")
        .order_by("code")
    )


@router.post("/queues", response={201: QueueOut})
def create_queue(request: HttpRequest, payload: QueueIn) -> Status[Queue]:
    queue = config.create_queue(signed_in(request), **payload.dict())
    return Status(201, queue)


@router.post("/queues/{code}/members", response={204: None}, summary="Add or update a member")
def add_member(request: HttpRequest, code: str, payload: MemberIn) -> Status[None]:
    config.set_membership(
        signed_in(request), code, payload.username, member=True, on_shift=payload.on_shift
    )
    return Status(204, None)


@router.delete("/queues/{code}/members/{username}", response={204: None})
def remove_member(request: HttpRequest, code: str, username: str) -> Status[None]:
    config.set_membership(signed_in(request), code, username, member=False)
    return Status(204, None)


@router.post("/queues/{code}/shift", response={204: None}, summary="Go on or off shift")
def set_shift(request: HttpRequest, code: str, payload: ShiftIn) -> Status[None]:
    config.set_shift(signed_in(request), code, on_shift=payload.on_shift, username=payload.username)
    return Status(204, None)


class RuleOut(Schema):
    id: int
    order: int
    queue: str = Field(alias="queue.code")
    service: str | None = Field(None, alias="service.code")
    kind: str
    site: str | None = Field(None, alias="site.code")
    keyword: str


class RuleIn(Schema):
    queue: str = Field(max_length=64)
    order: int = 100
    service: str | None = Field(None, max_length=64)
    kind: Kind | None = None
    site: str | None = Field(None, max_length=64)
    keyword: str = Field("", max_length=200)


@router.get("/routing-rules", response=list[RuleOut])
def list_rules(request: HttpRequest) -> QuerySet[RoutingRule]:
    require(signed_in(request), Perm.DESK_VIEW)
    return RoutingRule.objects.select_related("queue", "service", "site").order_by("order", "id")


@router.post("/routing-rules", response={201: RuleOut})
def add_rule(request: HttpRequest, payload: RuleIn) -> Status[RoutingRule]:
    data = payload.dict()
    data["kind"] = data["kind"] or ""
    return Status(201, config.add_routing_rule(signed_in(request), **data))


@router.delete("/routing-rules/{rule_id}", response={204: None})
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    config.delete_routing_rule(signed_in(request), rule_id)
    return Status(204, None)


class PolicyOut(Schema):
    kind: Kind
    priority: Priority
    respond_minutes: int
    resolve_minutes: int
    business_hours: bool


class PolicyIn(Schema):
    respond_minutes: int
    resolve_minutes: int
    business_hours: bool


@router.get("/sla-policies", response=list[PolicyOut])
def list_policies(request: HttpRequest) -> QuerySet[SlaPolicy]:
    require(signed_in(request), Perm.DESK_VIEW)
    return SlaPolicy.objects.order_by("kind", "priority")


@router.put("/sla-policies/{kind}/{priority}", response=PolicyOut)
def set_policy(
    request: HttpRequest, kind: Kind, priority: Priority, payload: PolicyIn
) -> SlaPolicy:
    return config.set_sla_policy(signed_in(request), kind=kind, priority=priority, **payload.dict())


class HoursIn(Schema):
    opens: time
    closes: time
    weekdays: list[int] = Field(description="0 = Monday ... 6 = Sunday")


class HoursOut(Schema):
    opens: time
    closes: time
    weekdays: str


class HolidayIn(Schema):
    date: date
    name: str = Field(max_length=200)


class HolidayOut(Schema):
    date: date
    name: str


@router.put("/sites/{code}/business-hours", response=HoursOut, tags=["places"])
def set_hours(request: HttpRequest, code: str, payload: HoursIn) -> object:
    return config.set_business_hours(signed_in(request), code, **payload.dict())


@router.post("/sites/{code}/holidays", response={201: HolidayOut}, tags=["places"])
def add_holiday(request: HttpRequest, code: str, payload: HolidayIn) -> Status[object]:
    return Status(
        201, config.add_holiday(signed_in(request), code, day=payload.date, name=payload.name)
    )
