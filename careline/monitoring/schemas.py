"""The monitoring API's request and answer shapes."""

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from careline.core.schemas import InSchema
from careline.monitoring import configs
from careline.monitoring.choices import MonitorKind, MonitorStatus
from careline.servicedesk.choices import CareEffect, Scope


class ImpactIn(InSchema):
    care_effect: CareEffect = Field(
        CareEffect.DEGRADED, description="effect on patient care when this fails"
    )
    scope: Scope = Field(Scope.DEPARTMENT, description="how widely its failure is felt")


class MonitorIn(InSchema):
    name: str = Field(..., max_length=200)
    kind: MonitorKind
    config: dict[str, Any] = Field(
        ..., description="the kind's settings; see the per-kind schemas of this request body"
    )
    interval_s: int = Field(60, description="seconds between checks, 10 to 86400")
    timeout_s: float | None = Field(
        None, description="seconds a check may take; 10, or less for short intervals"
    )
    retries: int = Field(2, description="consecutive failures before the monitor is down")
    recover_after: int = Field(1, description="consecutive successes before it is up again")
    service: str | None = Field(None, max_length=32, description="clinical service code")
    department: str | None = Field(
        None, max_length=32, description="department its incidents are logged in (IT by default)"
    )
    depends_on: list[int] = Field(default_factory=list, max_length=50)
    config_item: int | None = Field(
        None, description="CMDB item watched; its clinical impact then sets the priority"
    )
    impact: ImpactIn | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)
    paused: bool = False
    value_threshold: float | None = Field(
        None, description="warn before the monitor's value is forecast to reach this"
    )


class MonitorPatch(InSchema):
    name: str | None = Field(None, max_length=200)
    config: dict[str, Any] | None = Field(
        None, description="the whole config; credentials shown as ******** are kept"
    )
    interval_s: int | None = None
    timeout_s: float | None = None
    retries: int | None = None
    recover_after: int | None = None
    service: str | None = Field(None, max_length=32)
    department: str | None = Field(None, max_length=32)
    depends_on: list[int] | None = Field(None, max_length=50)
    config_item: int | None = None
    impact: ImpactIn | None = None
    tags: list[str] | None = Field(None, max_length=20)
    paused: bool | None = None
    value_threshold: float | None = None


class ParentOut(Schema):
    id: int
    name: str
    status: MonitorStatus


class UptimeFigures(Schema):
    last_24h: float | None = Field(None, description="percent of checks that found it working")
    last_7d: float | None = None
    last_30d: float | None = None


class MonitorOut(Schema):
    id: int
    name: str
    kind: MonitorKind
    config: dict[str, Any] = Field(..., description="credentials are shown as ********")
    interval_s: int
    timeout_s: float
    retries: int
    recover_after: int
    service: str | None
    department: str | None
    depends_on: list[int]
    config_item: int | None
    impact: ImpactIn
    tags: list[str]
    paused: bool
    status: MonitorStatus
    status_text: str = Field(..., description='e.g. "down (parent EHR database down)"')
    status_since: datetime | None
    suppressed_by: list[ParentOut]
    last_checked_at: datetime | None
    last_error: str
    last_latency_ms: float | None
    last_value: float | None
    value_threshold: float | None
    ping_url: str | None = Field(None, description="heartbeats: where the job reports")
    last_ping_at: datetime | None
    uptime: UptimeFigures | None
    created_at: datetime


class ResultOut(Schema):
    at: datetime
    status: Literal["up", "down", "degraded"]
    latency_ms: float
    error: str
    value: float | None


class PeriodUptime(Schema):
    start: datetime
    checks: int
    uptime_percent: float | None


class LatencyOut(Schema):
    p50: float | None
    p95: float | None
    p99: float | None


class UptimeOut(Schema):
    monitor: int
    uptime: UptimeFigures
    latency_24h_ms: LatencyOut
    by_period: list[PeriodUptime]


class WindowIn(InSchema):
    name: str = Field(..., max_length=200)
    starts_at: datetime
    ends_at: datetime | None = None
    recurrence: str = Field("", max_length=100, description="cron rule, e.g. 0 2 * * SUN")
    duration_minutes: int = 60
    time_zone: str = "UTC"
    monitors: list[int] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class OccurrenceOut(Schema):
    starts_at: datetime
    ends_at: datetime


class WindowOut(Schema):
    id: int
    name: str
    starts_at: datetime
    ends_at: datetime | None
    recurrence: str
    duration_minutes: int
    time_zone: str
    monitors: list[int]
    services: list[str]
    tags: list[str]
    next: list[OccurrenceOut] = Field(..., description="the next occurrences, bounded ahead")


class AlertmanagerAlert(InSchema):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field("", max_length=200)


class AlertmanagerIn(InSchema):
    """Prometheus Alertmanager's webhook payload (version 4)."""

    version: str
    groupKey: str = Field(..., max_length=2000)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    truncatedAlerts: int = 0
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AlertmanagerAlert] = Field(..., max_length=1000)


class GenericAlertIn(InSchema):
    title: str = Field(..., min_length=1, max_length=200)
    status: Literal["firing", "resolved"] = "firing"
    key: str = Field("", max_length=200, description="the alert's identity; the title if empty")
    service: str | None = Field(None, max_length=32)
    description: str = Field("", max_length=20_000)
    care_effect: CareEffect = CareEffect.DEGRADED
    scope: Scope = Scope.DEPARTMENT


class AlertsDone(Schema):
    opened: int
    reopened: int
    updated: int
    resolved: int
    silenced: int
    ignored: int


def config_request_body() -> dict[str, Any]:
    """The POST body's schema in the OpenAPI document: one variant per kind, each with that
    kind's config schema, chosen by `kind`."""
    base = MonitorIn.model_json_schema(ref_template="#/components/schemas/{model}")
    base.pop("$defs", None)
    variants = []
    for kind, model in configs.CONFIG_SCHEMAS.items():
        variant = {
            **base,
            "title": f"{kind.capitalize()}MonitorIn",
            "properties": {
                **base["properties"],
                "kind": {"type": "string", "const": kind},
                "config": model.model_json_schema(),
            },
        }
        variants.append(variant)
    return {
        "requestBody": {
            "content": {"application/json": {"schema": {"oneOf": variants}}},
            "required": True,
        }
    }
