"""Monitoring API: monitors, their results and uptime, maintenance windows, alert intake."""

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from careline.core.callers import signed_in
from careline.core.pagination import MAX_OFFSET
from careline.core.permissions import Perm, require
from careline.core.schemas import InSchema
from careline.monitoring import configs
from careline.monitoring.choices import MonitorStatus
from careline.monitoring.models import CheckRecord, MaintenanceWindow, Monitor
from careline.monitoring.schemas import (
    AlertmanagerIn,
    AlertsDone,
    GenericAlertIn,
    MonitorIn,
    MonitorOut,
    MonitorPatch,
    ResultOut,
    UptimeOut,
    WindowIn,
    WindowOut,
    config_request_body,
)
from careline.monitoring.services import alerts, history, maintenance, monitors

router = Router(tags=["monitoring"])

WINDOWS = {
    "last_24h": timedelta(hours=24),
    "last_7d": timedelta(days=7),
    "last_30d": timedelta(days=30),
}


def status_text(monitor: Monitor, parents: list[Monitor]) -> str:
    if monitor.paused:
        return "paused"
    if monitor.status == MonitorStatus.DOWN and parents:
        return f"down (parent {parents[0].name} down)"
    return str(monitor.status)


def monitor_out(
    monitor: Monitor,
    *,
    with_uptime: bool = False,
    graph: tuple[dict[int, set[int]], dict[int, Monitor]] | None = None,
) -> dict[str, Any]:
    """The API's view of a monitor; `graph` (dependencies and down monitors, read once)
    when listing many."""
    edges, down = graph if graph is not None else (monitors.edges(), None)
    parents = monitors.suppressed_by(monitor.pk, edges, down)
    try:
        shown = configs.redacted(monitor.kind, monitors.parsed_config(monitor))
    except Exception:  # a stored config this version refuses: show its plain keys
        shown = dict(monitor.config)
    uptime = None
    if with_uptime:
        uptime = {k: history.uptime(monitor.pk, w).percent for k, w in WINDOWS.items()}
    return {
        "id": monitor.pk,
        "name": monitor.name,
        "kind": monitor.kind,
        "config": shown,
        "interval_s": monitor.interval_s,
        "timeout_s": monitor.timeout_s,
        "retries": monitor.retries,
        "recover_after": monitor.recover_after,
        "service": monitor.service.code if monitor.service else None,
        "department": monitor.department.code if monitor.department else None,
        "depends_on": sorted(edges.get(monitor.pk, ())),
        "config_item": monitor.config_item_id,
        "impact": {"care_effect": monitor.care_effect, "scope": monitor.scope},
        "tags": monitor.tags,
        "paused": monitor.paused,
        "status": MonitorStatus.PAUSED if monitor.paused else monitor.status,
        "status_text": status_text(monitor, parents),
        "status_since": monitor.status_since,
        "suppressed_by": [{"id": p.pk, "name": p.name, "status": p.status} for p in parents],
        "last_checked_at": monitor.last_checked_at,
        "last_error": monitor.last_error,
        "last_latency_ms": monitor.last_latency_ms,
        "last_value": monitor.last_value,
        "value_threshold": monitor.value_threshold,
        "ping_url": monitors.ping_url(monitor),
        "last_ping_at": monitor.last_ping_at,
        "uptime": uptime,
        "created_at": monitor.created_at,
    }


@router.post(
    "/monitors",
    response={201: MonitorOut},
    summary="Create a monitor",
    openapi_extra=config_request_body(),
)
def create_monitor(request: HttpRequest, payload: MonitorIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    monitor = monitors.create_monitor(signed_in(request), data)
    return Status(201, monitor_out(monitors.get_monitor(monitor.pk), with_uptime=True))


class MonitorFilter(InSchema):
    service: str | None = Field(None, max_length=32, description="clinical service code")
    status: MonitorStatus | None = None


class MonitorPage(Schema):
    items: list[MonitorOut]
    count: int


class PageParams(InSchema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get("/monitors", response=MonitorPage, summary="Monitors, filtered, a page at a time")
def list_monitors(
    request: HttpRequest, filters: Query[MonitorFilter], page: Query[PageParams]
) -> dict[str, Any]:
    require(signed_in(request), Perm.MONITORS_VIEW)
    rows = monitors.visible_monitors(filters.service, filters.status).select_related("department")
    graph = (monitors.edges(), monitors.down_monitors())
    chosen = rows[page.offset : page.offset + page.limit]
    return {"items": [monitor_out(m, graph=graph) for m in chosen], "count": rows.count()}


@router.get("/monitors/{monitor_id}", response=MonitorOut, summary="One monitor and its uptime")
def get_monitor(request: HttpRequest, monitor_id: int) -> dict[str, Any]:
    require(signed_in(request), Perm.MONITORS_VIEW)
    return monitor_out(monitors.get_monitor(monitor_id), with_uptime=True)


@router.patch("/monitors/{monitor_id}", response=MonitorOut, summary="Change or pause a monitor")
def update_monitor(request: HttpRequest, monitor_id: int, payload: MonitorPatch) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    monitor = monitors.update_monitor(signed_in(request), monitor_id, data)
    return monitor_out(monitors.get_monitor(monitor.pk), with_uptime=True)


@router.delete(
    "/monitors/{monitor_id}",
    response={204: None},
    summary="Delete a monitor (one with incidents or dependents is paused instead: 409)",
)
def delete_monitor(request: HttpRequest, monitor_id: int) -> Status[None]:
    monitors.delete_monitor(signed_in(request), monitor_id)
    return Status(204, None)


class ResultFilter(InSchema):
    limit: int = Field(100, ge=1, le=1000)


@router.get(
    "/monitors/{monitor_id}/results", response=list[ResultOut], summary="Latest raw results"
)
def results(
    request: HttpRequest, monitor_id: int, filters: Query[ResultFilter]
) -> QuerySet[CheckRecord]:
    require(signed_in(request), Perm.MONITORS_VIEW)
    monitor = monitors.get_monitor(monitor_id)
    return CheckRecord.objects.filter(monitor=monitor).order_by("-at", "-id")[: filters.limit]


class UptimeFilter(InSchema):
    period: str = Field("day", pattern="^(day|month)$")
    count: int = Field(30, ge=1, le=400)


@router.get(
    "/monitors/{monitor_id}/uptime",
    response=UptimeOut,
    summary="Uptime over 24 h / 7 d / 30 d, per day or month, and latency percentiles",
)
def uptime(request: HttpRequest, monitor_id: int, filters: Query[UptimeFilter]) -> dict[str, Any]:
    require(signed_in(request), Perm.MONITORS_VIEW)
    monitor = monitors.get_monitor(monitor_id)
    now = timezone.now()
    return {
        "monitor": monitor.pk,
        "uptime": {k: history.uptime(monitor.pk, w, now).percent for k, w in WINDOWS.items()},
        "latency_24h_ms": history.latency_percentiles(monitor.pk, timedelta(hours=24), now),
        "by_period": history.uptime_by(monitor.pk, filters.period, filters.count, now),
    }


def window_out(window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "id": window.pk,
        "name": window.name,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "recurrence": window.recurrence,
        "duration_minutes": window.duration_minutes,
        "time_zone": window.time_zone,
        "monitors": sorted(m.pk for m in window.monitors.all()),
        "services": sorted(s.code for s in window.services.all()),
        "tags": window.tags,
        "next": [
            {"starts_at": o.starts_at, "ends_at": o.ends_at}
            for o in maintenance.upcoming(window, timezone.now())
        ],
    }


@router.post("/maintenance-windows", response={201: WindowOut}, summary="Plan a maintenance window")
def create_window(request: HttpRequest, payload: WindowIn) -> Status[dict[str, Any]]:
    window = maintenance.create_window(signed_in(request), **payload.dict())
    return Status(201, window_out(window))


@router.get("/maintenance-windows", response=list[WindowOut], summary="Maintenance windows")
def list_windows(request: HttpRequest) -> list[dict[str, Any]]:
    require(signed_in(request), Perm.MONITORS_VIEW)
    rows = MaintenanceWindow.objects.prefetch_related("monitors", "services").order_by("-id")
    return [window_out(w) for w in rows[:200]]


@router.post(
    "/alerts/alertmanager",
    response=AlertsDone,
    tags=["alerts"],
    summary="Prometheus Alertmanager webhook (version 4)",
)
def alertmanager(request: HttpRequest, payload: AlertmanagerIn) -> HttpResponse | dict[str, int]:
    user = signed_in(request)
    require(user, Perm.ALERTS_POST)
    if payload.version != "4":
        return HttpResponse(
            '{"detail": "version: only Alertmanager webhook version 4 is understood"}',
            status=422,
            content_type="application/json",
        )
    batch = []
    for i, item in enumerate(payload.alerts):
        labels = {**payload.commonLabels, **item.labels}
        annotations = {**payload.commonAnnotations, **item.annotations}
        field = f"alerts.{i}.labels"
        title = annotations.get("summary") or labels.get("alertname") or "Alert"
        batch.append(
            alerts.Alert(
                source=alerts.ALERTMANAGER,
                key=item.fingerprint or alerts.fingerprint(labels),
                firing=item.status == "firing",
                title=title[:200],
                detail=annotations.get("description", ""),
                service=alerts.service_of(labels.get("service"), f"{field}.service"),
                care_effect=alerts.care_effect_of(labels, f"{field}.care_effect"),
                scope=alerts.scope_of(labels, f"{field}.scope"),
                since=item.startsAt if item.startsAt and item.startsAt.year > 1 else None,
            )
        )
    return alerts.handle(user, batch)


@router.post("/alerts/generic", response=AlertsDone, tags=["alerts"], summary="A simple JSON alert")
def generic(request: HttpRequest, payload: GenericAlertIn) -> dict[str, int]:
    user = signed_in(request)
    require(user, Perm.ALERTS_POST)
    alert = alerts.Alert(
        source=alerts.GENERIC,
        key=payload.key or payload.title,
        firing=payload.status == "firing",
        title=payload.title,
        detail=payload.description,
        service=alerts.service_of(payload.service, "service"),
        care_effect=payload.care_effect,
        scope=payload.scope,
        since=None,
    )
    return alerts.handle(user, [alert])
