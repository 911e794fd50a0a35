"""Monitoring pages: the status grid, the clinical services board, a monitor's page with its
charts (pygal, rendered as SVG on the server), and the create and edit forms."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pygal  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from careline.core import charts
from careline.core.callers import signed_in
from careline.core.errors import CareLineError
from careline.core.models import ClinicalService
from careline.core.permissions import Perm, has_perm
from careline.core.views import require_page
from careline.monitoring import configs
from careline.monitoring.api import WINDOWS, status_text
from careline.monitoring.choices import MonitorKind, MonitorStatus
from careline.monitoring.models import CheckRecord, Monitor
from careline.monitoring.services import history, monitors

WORST = [MonitorStatus.DOWN, MonitorStatus.DEGRADED, MonitorStatus.UNKNOWN, MonitorStatus.UP]


def _shown_status(monitor: Monitor) -> str:
    return MonitorStatus.PAUSED if monitor.paused else monitor.status


def _rows(monitor_list: list[Monitor]) -> list[dict[str, Any]]:
    edges = monitors.edges()
    down = {m.pk for m in Monitor.objects.filter(status=MonitorStatus.DOWN, paused=False)}
    names = dict(Monitor.objects.values_list("pk", "name"))
    rows = []
    for m in monitor_list:
        parents = [pid for pid in monitors.ancestors(m.pk, edges) if pid in down]
        text = _shown_status(m)
        if m.status == MonitorStatus.DOWN and parents and not m.paused:
            text = f"down (parent {names[parents[0]]} down)"
        rows.append({"monitor": m, "status": _shown_status(m), "text": text})
    return rows


def monitor_list(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.MONITORS_VIEW)) is not None:
        return denied
    groups: dict[str, list[Monitor]] = defaultdict(list)
    for m in Monitor.objects.select_related("service").order_by("service__tier", "name"):
        groups[m.service.name if m.service else "No clinical service"].append(m)
    context = {
        "groups": [(name, _rows(items)) for name, items in groups.items()],
        "can_manage": has_perm(request.user, Perm.MONITORS_MANAGE),
    }
    return render(request, "monitoring/list.html", context)


def board(request: HttpRequest) -> HttpResponse:
    """The service desk's board: each clinical service's worst monitor state."""
    if (denied := require_page(request, Perm.MONITORS_VIEW)) is not None:
        return denied
    by_service: dict[int, list[Monitor]] = defaultdict(list)
    for m in Monitor.objects.filter(paused=False, service__isnull=False):
        assert m.service_id is not None
        by_service[m.service_id].append(m)
    tiles = []
    for service in ClinicalService.objects.order_by("tier", "code"):
        items = by_service.get(service.pk, [])
        statuses = {m.status for m in items}
        worst = next((s for s in WORST if s in statuses), None)
        failing = [
            m.name for m in items if m.status in (MonitorStatus.DOWN, MonitorStatus.DEGRADED)
        ]
        tiles.append(
            {
                "service": service,
                "state": worst or "unmonitored",
                "count": len(items),
                "failing": failing,
            }
        )
    return render(request, "monitoring/board.html", {"tiles": tiles})


def monitor_page(request: HttpRequest, monitor_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.MONITORS_VIEW)) is not None:
        return denied
    monitor = Monitor.objects.select_related("service", "department").filter(pk=monitor_id).first()
    if monitor is None:
        return render(
            request, "core/forbidden.html", {"message": "There is no such monitor."}, status=404
        )
    parents = monitors.suppressed_by(monitor.pk)
    now = timezone.now()
    context = {
        "monitor": monitor,
        "status": _shown_status(monitor),
        "status_text": status_text(monitor, parents),
        "config": json.dumps(
            configs.redacted(monitor.kind, monitors.parsed_config(monitor)), indent=2
        ),
        "ping_url": monitors.ping_url(monitor),
        "uptime": {
            k.replace("last_", ""): history.uptime(monitor.pk, w, now).percent
            for k, w in WINDOWS.items()
        },
        "latency": history.latency_percentiles(monitor.pk, timedelta(hours=24), now),
        "results": CheckRecord.objects.filter(monitor=monitor).order_by("-at", "-id")[:20],
        "incidents": monitor.incidents.select_related("ticket").order_by("-opened_at")[:10],
        "parents": monitor.depends_on.all(),
        "can_manage": has_perm(request.user, Perm.MONITORS_MANAGE),
    }
    return render(request, "monitoring/detail.html", context)


def latency_chart(request: HttpRequest, monitor_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.MONITORS_VIEW)) is not None:
        return denied
    since = timezone.now() - timedelta(hours=24)
    rows = list(
        CheckRecord.objects.filter(monitor_id=monitor_id, at__gte=since)
        .order_by("-at")
        .values_list("at", "latency_ms")[:500]
    )[::-1]
    chart = pygal.DateTimeLine(
        title="Latency, last 24 h (ms)",
        style=charts.style(),
        height=300,
        show_legend=False,
        x_label_rotation=20,
        x_value_formatter=lambda dt: dt.strftime("%H:%M"),
        disable_xml_declaration=True,
    )
    chart.add("latency", [(at, round(ms, 1)) for at, ms in rows])
    return HttpResponse(chart.render(), content_type="image/svg+xml")


def uptime_chart(request: HttpRequest, monitor_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.MONITORS_VIEW)) is not None:
        return denied
    days = history.uptime_by(monitor_id, "day", 30)
    chart = pygal.Bar(
        title="Uptime per day (%)",
        style=charts.style(),
        height=300,
        show_legend=False,
        range=(0, 100),
        x_label_rotation=20,
        disable_xml_declaration=True,
    )
    chart.x_labels = [d["start"].strftime("%d %b") for d in days]  # type: ignore[attr-defined]
    chart.add("uptime", [d["uptime_percent"] for d in days])
    return HttpResponse(chart.render(), content_type="image/svg+xml")


# --- forms ---------------------------------------------------------------------------------


def _kind_fields() -> list[dict[str, Any]]:
    kinds = []
    for kind, model in configs.CONFIG_SCHEMAS.items():
        schema = model.model_json_schema()
        fields = []
        for key, prop in schema.get("properties", {}).items():
            fields.append(
                {
                    "key": key,
                    "name": f"config.{kind}.{key}",
                    "help": prop.get("description", ""),
                    "required": key in schema.get("required", []),
                }
            )
        kinds.append({"kind": kind, "label": MonitorKind(kind).label, "fields": fields})
    return kinds


def _config_from_form(request: HttpRequest, kind: str) -> dict[str, Any]:
    """The kind's fields as typed in: text stays text; numbers, switches, lists and objects
    are read as JSON (a value that is not valid JSON is passed on for the check to refuse)."""
    schema = (
        configs.CONFIG_SCHEMAS[kind].model_json_schema() if kind in configs.CONFIG_SCHEMAS else {}
    )
    config: dict[str, Any] = {}
    for key, prop in schema.get("properties", {}).items():
        raw = request.POST.get(f"config.{kind}.{key}", "").strip()
        if not raw:
            continue
        types = {prop.get("type")} | {p.get("type") for p in prop.get("anyOf", [])}
        if types <= {"string", None} and "string" in types:
            config[key] = raw
            continue
        try:
            config[key] = json.loads(raw)
        except ValueError:
            config[key] = raw
    return config


def _form_data(request: HttpRequest, kind: str) -> dict[str, Any]:
    post = request.POST
    config = _config_from_form(request, kind)
    data: dict[str, Any] = {
        "name": post.get("name", ""),
        "config": config,
        "service": post.get("service") or None,
        "impact": {
            "care_effect": post.get("care_effect", "degraded"),
            "scope": post.get("scope", "department"),
        },
        "tags": [t for t in post.get("tags", "").split(",") if t.strip()],
        "depends_on": [int(v) for v in post.getlist("depends_on") if v.isdigit()],
        "paused": post.get("paused") == "on",
    }
    for number in ("interval_s", "retries"):
        value = post.get(number, "").strip()
        if value:
            try:
                data[number] = int(value)
            except ValueError:
                data[number] = -1
    return data


def _form_context(
    monitor: Monitor | None, values: dict[str, Any], error: CareLineError | None
) -> dict[str, Any]:
    return {
        "monitor": monitor,
        "kinds": _kind_fields(),
        "values": values,
        "error": error,
        "services": ClinicalService.objects.order_by("tier", "code"),
        "others": Monitor.objects.exclude(pk=monitor.pk if monitor else 0).order_by("name"),
    }


def monitor_new(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.MONITORS_MANAGE)) is not None:
        return denied
    values: dict[str, Any] = {
        "kind": request.POST.get("kind", "http"),
        "interval_s": 60,
        "retries": 2,
    }
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        data = {**_form_data(request, kind), "kind": kind}
        try:
            monitor = monitors.create_monitor(signed_in(request), data)
        except CareLineError as exc:
            return render(
                request,
                "monitoring/form.html",
                _form_context(None, {**values, **request.POST.dict()}, exc),
                status=422,
            )
        return redirect("monitoring:detail", monitor.pk)
    return render(request, "monitoring/form.html", _form_context(None, values, None))


def monitor_edit(request: HttpRequest, monitor_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.MONITORS_MANAGE)) is not None:
        return denied
    monitor = Monitor.objects.select_related("service").filter(pk=monitor_id).first()
    if monitor is None:
        return render(
            request, "core/forbidden.html", {"message": "There is no such monitor."}, status=404
        )
    shown = configs.redacted(monitor.kind, monitors.parsed_config(monitor))
    values: dict[str, Any] = {
        "kind": monitor.kind,
        "name": monitor.name,
        "interval_s": monitor.interval_s,
        "retries": monitor.retries,
        "service": monitor.service.code if monitor.service else "",
        "care_effect": monitor.care_effect,
        "scope": monitor.scope,
        "tags": ", ".join(monitor.tags),
        "paused": monitor.paused,
        **{
            f"config.{monitor.kind}.{k}": (v if isinstance(v, str) else json.dumps(v))
            for k, v in shown.items()
            if v is not None
        },
    }
    if request.method == "POST":
        data = _form_data(request, monitor.kind)
        try:
            monitors.update_monitor(signed_in(request), monitor.pk, data)
        except CareLineError as exc:
            return render(
                request,
                "monitoring/form.html",
                _form_context(monitor, {**values, **request.POST.dict()}, exc),
                status=422,
            )
        return redirect("monitoring:detail", monitor.pk)
    return render(request, "monitoring/form.html", _form_context(monitor, values, None))
