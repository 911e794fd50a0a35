"""On-call API: contact methods, notification rules, escalation policies and routes, delivery
targets.

Everyone on the IT staff manages their own contact methods and rules; on-call managers manage
anyone's, and the policies, routes and targets. A target's URL and signing key never appear in
an answer (only scheme and host), except the signing key once, in the answer that created it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from careline.core.callers import signed_in
from careline.core.schemas import InSchema
from careline.oncall.models import (
    ContactKind,
    ContactMethod,
    EscalationLevel,
    EscalationPolicy,
    EscalationRoute,
    NotificationRule,
    TargetKind,
    Urgency,
    WebhookTarget,
)
from careline.oncall.services import contacts, policies, targets

router = Router(tags=["on-call"])

Priority = Literal["P1", "P2", "P3", "P4"]
PriorityOrAny = Literal["", "P1", "P2", "P3", "P4"]
TargetKindName = Literal["slack", "teams", "webhook"]


# --- contact methods and rules -------------------------------------------------------------


class PersonFilter(InSchema):
    user: str | None = Field(
        None, max_length=150, description="someone else's username (on-call managers)"
    )


class ContactIn(InSchema):
    kind: ContactKind
    address: str = Field(
        max_length=1000,
        description="an email address, a phone number (stored as E.164), or a chat handle",
    )
    target: str | None = Field(
        None, max_length=64, description="chat handles: the code of a slack or teams target"
    )
    label: str = Field("", max_length=1000)
    user: str | None = Field(
        None, max_length=150, description="someone else's username (on-call managers)"
    )


class ContactOut(Schema):
    id: int
    user: str = Field(alias="user.username")
    kind: ContactKind
    address: str
    target: str | None = Field(None, alias="target.code")
    label: str
    created_at: datetime


class RuleIn(InSchema):
    method: int = Field(description="id of one of the person's contact methods")
    priority: PriorityOrAny = Field("", description="P1..P4, or blank for any priority")
    delay_minutes: int = Field(0, description="0 (at once) to 120 minutes unanswered")
    user: str | None = Field(
        None, max_length=150, description="someone else's username (on-call managers)"
    )


class RuleOut(Schema):
    id: int
    user: str = Field(alias="user.username")
    priority: PriorityOrAny
    method: int = Field(alias="method_id")
    method_kind: ContactKind = Field(alias="method.kind")
    method_address: str = Field(alias="method.address")
    delay_minutes: int


@router.get("/oncall/contacts", response=list[ContactOut], summary="How a person is reached")
def list_contacts(request: HttpRequest, filters: Query[PersonFilter]) -> list[ContactMethod]:
    return contacts.contact_methods(signed_in(request), filters.user)


@router.post("/oncall/contacts", response={201: ContactOut})
def add_contact(request: HttpRequest, payload: ContactIn) -> Status[ContactMethod]:
    return Status(201, contacts.add_contact_method(signed_in(request), **payload.dict()))


@router.delete("/oncall/contacts/{method_id}", response={204: None})
def remove_contact(request: HttpRequest, method_id: int) -> Status[None]:
    contacts.remove_contact_method(signed_in(request), method_id)
    return Status(204, None)


@router.get("/oncall/rules", response=list[RuleOut], summary="A person's notification rules")
def list_rules(request: HttpRequest, filters: Query[PersonFilter]) -> list[NotificationRule]:
    return contacts.notification_rules(signed_in(request), filters.user)


@router.post("/oncall/rules", response={201: RuleOut})
def add_rule(request: HttpRequest, payload: RuleIn) -> Status[NotificationRule]:
    return Status(201, contacts.add_rule(signed_in(request), **payload.dict()))


@router.delete("/oncall/rules/{rule_id}", response={204: None})
def remove_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    contacts.remove_rule(signed_in(request), rule_id)
    return Status(204, None)


# --- escalation policies -------------------------------------------------------------------


class LevelIn(InSchema):
    target_kind: TargetKind
    schedule: str | None = Field(None, max_length=64, description="schedule levels: its code")
    user: str | None = Field(None, max_length=150, description="person levels: a username")
    queue: str | None = Field(None, max_length=64, description="queue levels: its code")
    handover: str | None = Field(
        None, max_length=64, description="policy levels: the code of the policy handed over to"
    )
    channels: list[ContactKind] = Field(
        default_factory=list,
        max_length=10,
        description="contact kinds to use; empty = each person's own notification rules",
    )
    wait_minutes: int = Field(5, description="1 to 1440 minutes to acknowledge")


class PolicyFields(InSchema):
    name: str = Field(max_length=1000)
    description: str = Field("", max_length=10_000)
    repeat: int = Field(1, description="0 to 9 more rounds of the levels")
    final_user: str | None = Field(
        None, max_length=150, description="told after the last round (a username)"
    )
    levels: list[LevelIn] = Field(max_length=100)


class PolicyIn(PolicyFields):
    code: str = Field(max_length=64)


class LevelOut(Schema):
    position: int
    target_kind: TargetKind
    schedule: str | None = Field(None, alias="schedule.code")
    user: str | None = Field(None, alias="user.username")
    queue: str | None = Field(None, alias="queue.code")
    handover: str | None = Field(None, alias="handover.code")
    channels: list[ContactKind]
    wait_minutes: int
    text: str = Field(description="the level in plain words")

    @staticmethod
    def resolve_text(obj: EscalationLevel) -> str:
        return policies.level_text(obj)


class PolicyOut(Schema):
    code: str
    name: str
    description: str
    repeat: int
    final_user: str | None = Field(None, alias="final_user.username")
    levels: list[LevelOut] = Field(alias="levels.all")
    after_last_level: str = Field(description="what happens when nobody acknowledges")
    created_at: datetime

    @staticmethod
    def resolve_after_last_level(obj: EscalationPolicy) -> str:
        return policies.closing_text(obj)


@router.get("/oncall/policies", response=list[PolicyOut])
def list_policies(request: HttpRequest) -> list[EscalationPolicy]:
    return policies.list_policies(signed_in(request))


@router.post("/oncall/policies", response={201: PolicyOut})
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status[EscalationPolicy]:
    return Status(201, policies.create_policy(signed_in(request), **payload.dict()))


@router.get("/oncall/policies/{code}", response=PolicyOut)
def get_policy(request: HttpRequest, code: str) -> EscalationPolicy:
    return policies.get_policy(signed_in(request), code)


@router.put("/oncall/policies/{code}", response=PolicyOut, summary="Replace a policy whole")
def replace_policy(request: HttpRequest, code: str, payload: PolicyFields) -> EscalationPolicy:
    return policies.replace_policy(signed_in(request), code, **payload.dict())


@router.delete("/oncall/policies/{code}", response={204: None})
def delete_policy(request: HttpRequest, code: str) -> Status[None]:
    policies.delete_policy(signed_in(request), code)
    return Status(204, None)


# --- routes --------------------------------------------------------------------------------


class RouteIn(InSchema):
    priority: PriorityOrAny = Field("", description="P1..P4, or blank for any priority")
    service: str | None = Field(
        None, max_length=64, description="a clinical service code; none = any service"
    )
    policy: str = Field(max_length=64, description="the escalation policy's code")
    urgency: Urgency | None = Field(
        None,
        description="page (P1, P2 and any priority) or business_hours (P3, P4 only); "
        "defaults to business_hours for P3 and P4",
    )
    active: bool = True


class RoutesIn(InSchema):
    routes: list[RouteIn] = Field(max_length=500, description="first match wins")


class RouteOut(Schema):
    id: int
    position: int
    priority: PriorityOrAny
    service: str | None = Field(None, alias="service.code")
    policy: str = Field(alias="policy.code")
    urgency: Urgency
    active: bool
    text: str = Field(description="the route in plain words")

    @staticmethod
    def resolve_text(obj: EscalationRoute) -> str:
        return policies.route_text(obj)


@router.get("/oncall/routes", response=list[RouteOut], summary="The routes, in order")
def list_routes(request: HttpRequest) -> list[EscalationRoute]:
    return policies.list_routes(signed_in(request))


@router.put("/oncall/routes", response=list[RouteOut], summary="Replace the ordered routes")
def set_routes(request: HttpRequest, payload: RoutesIn) -> list[EscalationRoute]:
    return policies.set_routes(signed_in(request), payload.dict()["routes"])


# --- delivery targets ----------------------------------------------------------------------


class TargetIn(InSchema):
    code: str = Field(max_length=64)
    name: str = Field(max_length=1000)
    kind: TargetKindName
    url: str = Field(max_length=5000, description="kept encrypted; never shown again")
    signing_key: str | None = Field(
        None,
        max_length=1000,
        description="webhook targets: the HMAC key; generated when not given",
    )


class TargetPatch(InSchema):
    name: str | None = Field(None, max_length=1000)
    url: str | None = Field(None, max_length=5000)
    signing_key: str | None = Field(None, max_length=1000)
    active: bool | None = None


class TargetOut(Schema):
    code: str
    name: str
    kind: TargetKindName
    url: str = Field(description="scheme and host only, e.g. https://hooks.slack.com/…")
    active: bool
    has_signing_key: bool


class TargetCreatedOut(TargetOut):
    signing_key: str | None = Field(
        description="webhook targets: the HMAC key, shown this once", default=None
    )


def _shown(target: WebhookTarget) -> targets.TargetDescription:
    return targets.describe(target)


@router.get("/oncall/targets", response=list[TargetOut])
def list_targets(request: HttpRequest) -> list[targets.TargetDescription]:
    return [_shown(t) for t in targets.list_targets(signed_in(request))]


@router.post("/oncall/targets", response={201: TargetCreatedOut})
def create_target(request: HttpRequest, payload: TargetIn) -> Status[dict[str, object]]:
    created = targets.create_target(signed_in(request), **payload.dict())
    shown = _shown(created.target)
    return Status(201, {**asdict(shown), "signing_key": created.signing_key})


@router.get("/oncall/targets/{code}", response=TargetOut)
def get_target(request: HttpRequest, code: str) -> targets.TargetDescription:
    return _shown(targets.get_target(signed_in(request), code))


@router.patch("/oncall/targets/{code}", response=TargetOut)
def update_target(
    request: HttpRequest, code: str, payload: TargetPatch
) -> targets.TargetDescription:
    changes = payload.dict(exclude_unset=True)
    return _shown(targets.update_target(signed_in(request), code, **changes))


@router.delete("/oncall/targets/{code}", response={204: None})
def delete_target(request: HttpRequest, code: str) -> Status[None]:
    targets.delete_target(signed_in(request), code)
    return Status(204, None)
