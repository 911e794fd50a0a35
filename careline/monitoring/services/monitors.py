"""Creating and changing monitors: validation, credentials encrypted, cycles refused, audited."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from pydantic import BaseModel

from careline.cmdb.models import ConfigItem
from careline.core import audit
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.links import absolute_url
from careline.core.models import Department, User
from careline.core.permissions import Perm, require
from careline.core.services import (
    clean_name,
    create_user,
    department_by_code,
    service_by_code,
)
from careline.monitoring import configs
from careline.monitoring.choices import MonitorKind, MonitorStatus
from careline.monitoring.models import Monitor
from careline.servicedesk.choices import CareEffect, Scope

MONITOR_FIELDS = [
    "name",
    "kind",
    "config",
    "interval_s",
    "timeout_s",
    "retries",
    "recover_after",
    "service_id",
    "department_id",
    "config_item_id",
    "care_effect",
    "scope",
    "tags",
    "paused",
    "value_threshold",
]
SYSTEM_USERNAME = "careline-monitor"
MIN_INTERVAL_S = 10
MAX_INTERVAL_S = 86_400


# --- the account incidents are opened by ---------------------------------------------------


def it_department() -> Department | None:
    """Where monitoring's incidents are logged when a monitor names no department."""
    code = settings.MONITOR_DEPARTMENT
    if code:
        found = Department.objects.filter(code=code).select_related("site").first()
        if found is not None:
            return found
    return (
        Department.objects.select_related("site").filter(clinical_area="other").first()
        or Department.objects.select_related("site").first()
    )


def system_account() -> User:
    """The engineer account CareLine's own monitoring acts as; created on first need."""
    found = User.objects.filter(username=SYSTEM_USERNAME).first()
    if found is not None:
        return found
    department = it_department()
    try:
        return create_user(
            None,
            username=SYSTEM_USERNAME,
            role="engineer",
            department=department.code if department else None,
            first_name="CareLine",
            last_name="monitoring",
        )
    except Conflict:
        return User.objects.get(username=SYSTEM_USERNAME)


# --- validation ----------------------------------------------------------------------------


def _in_range(value: float | None, low: float, high: float, field: str) -> None:
    if value is None:  # a change's explicit null: the setting cannot be emptied
        raise InvalidInput(f"must be between {low:g} and {high:g} (got null)", field=field)
    if not low <= value <= high:
        raise InvalidInput(f"must be between {low:g} and {high:g} (got {value:g})", field=field)


def _choice(value: str, choices: type[Any], field: str) -> str:
    if value not in choices.values:
        allowed = ", ".join(str(v) for v in choices.values)
        raise InvalidInput(f"must be one of {allowed} (got {str(value)[:40]!r})", field=field)
    return value


def _clean_tags(tags: Iterable[str]) -> list[str]:
    cleaned = sorted({str(t).strip().lower() for t in tags if str(t).strip()})
    for tag in cleaned:
        if len(tag) > 40:
            raise InvalidInput(f"a tag is at most 40 characters (got {tag[:50]!r})", field="tags")
    if len(cleaned) > 20:
        raise InvalidInput(f"at most 20 tags (got {len(cleaned)})", field="tags")
    return cleaned


def _store_config(monitor: Monitor, parsed: BaseModel) -> None:
    """Split a parsed config into its plain keys (config) and credentials (encrypted)."""
    data = parsed.model_dump(mode="json")
    secret_keys = configs.SECRET_FIELDS.get(monitor.kind, ())
    monitor.set_secret_values({k: data.pop(k) for k in secret_keys if data.get(k)})
    monitor.config = data


def _merge_kept_secrets(monitor: Monitor, raw: dict[str, Any]) -> dict[str, Any]:
    """A config sent back as the API showed it keeps its stored credentials: a masked or
    missing credential means "unchanged"."""
    if not isinstance(raw, dict):
        return raw
    stored = monitor.secret_values()
    if not stored:
        return raw
    merged = dict(raw)
    shown = configs.redacted(
        monitor.kind, configs.parse_config(monitor.kind, monitor.full_config())
    )
    for key, value in stored.items():
        if key not in merged or merged[key] == shown.get(key) or merged[key] == configs.MASK:
            merged[key] = value
    return merged


def parsed_config(monitor: Monitor) -> BaseModel:
    return configs.parse_config(monitor.kind, monitor.full_config())


def ping_url(monitor: Monitor) -> str | None:
    return absolute_url(f"/hb/{monitor.ping_token}") if monitor.is_heartbeat else None


# --- dependencies --------------------------------------------------------------------------


def edges() -> dict[int, set[int]]:
    """Every monitor's parents, in one query (the dependency table is small)."""
    parents: dict[int, set[int]] = defaultdict(set)
    through = Monitor.depends_on.through
    for child, parent in through.objects.values_list("from_monitor_id", "to_monitor_id"):
        parents[child].add(parent)
    return parents


def ancestors(monitor_id: int, parents: dict[int, set[int]] | None = None) -> list[int]:
    """Parents, their parents and so on, nearest first, each once."""
    parents = edges() if parents is None else parents
    seen: list[int] = []
    frontier = sorted(parents.get(monitor_id, ()))
    while frontier:
        nxt: list[int] = []
        for pid in frontier:
            if pid not in seen and pid != monitor_id:
                seen.append(pid)
                nxt.extend(sorted(parents.get(pid, ())))
        frontier = nxt
    return seen


def down_monitors() -> dict[int, Monitor]:
    return {
        m.pk: m
        for m in Monitor.objects.filter(status=MonitorStatus.DOWN, paused=False).only(
            "pk", "name", "status"
        )
    }


def suppressed_by(
    monitor_id: int,
    parents: dict[int, set[int]] | None = None,
    down: dict[int, Monitor] | None = None,
) -> list[Monitor]:
    """The down monitors this one depends on, directly or through others. Pass `parents`
    and `down` when asking for many monitors, to read them once."""
    up_chain = ancestors(monitor_id, parents)
    if not up_chain:
        return []
    if down is None:
        down = {
            m.pk: m
            for m in Monitor.objects.filter(
                pk__in=up_chain, status=MonitorStatus.DOWN, paused=False
            )
        }
    return [down[pk] for pk in up_chain if pk in down]


def _set_parents(monitor: Monitor, parent_ids: list[int]) -> None:
    ids = sorted(set(parent_ids))
    if monitor.pk in ids:
        raise InvalidInput("a monitor cannot depend on itself", field="depends_on")
    found = set(Monitor.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"no monitor has id {missing[0]}", field="depends_on")
    parents = edges()
    parents[monitor.pk] = set(ids)
    if monitor.pk in ancestors(monitor.pk, parents) or any(
        monitor.pk in ancestors(pid, parents) for pid in ids
    ):
        raise InvalidInput(
            "these dependencies would make a cycle (a monitor would depend on itself)",
            field="depends_on",
        )
    monitor.depends_on.set(ids)


# --- create, change, pause, delete ---------------------------------------------------------


def _first_due(monitor: Monitor, now: datetime) -> datetime:
    if monitor.is_heartbeat:
        schedule = parsed_config(monitor)
        assert isinstance(schedule, configs.HeartbeatConfig)
        return schedule.next_expected(now) + timedelta(seconds=schedule.grace_s)
    # Spread the first runs over one interval so a batch of new monitors does not start at once.
    return now + timedelta(seconds=random.uniform(0, min(monitor.interval_s, 60)))


def _apply(monitor: Monitor, data: dict[str, Any]) -> None:
    if "name" in data:
        monitor.name = clean_name(data["name"])
    if "interval_s" in data:
        _in_range(data["interval_s"], MIN_INTERVAL_S, MAX_INTERVAL_S, "interval_s")
        monitor.interval_s = int(data["interval_s"])
    if data.get("timeout_s") is not None:
        _in_range(data["timeout_s"], 0.5, 120, "timeout_s")
        monitor.timeout_s = float(data["timeout_s"])
    elif "interval_s" in data and monitor.pk is None:
        # Unsaid: 10 s, but always well inside the interval.
        monitor.timeout_s = min(10.0, round(monitor.interval_s * 0.8, 1))
    if "retries" in data:
        _in_range(data["retries"], 1, 20, "retries")
        monitor.retries = int(data["retries"])
    if "recover_after" in data:
        _in_range(data["recover_after"], 1, 20, "recover_after")
        monitor.recover_after = int(data["recover_after"])
    if "service" in data:
        monitor.service = service_by_code(data["service"]) if data["service"] else None
    if "department" in data:
        monitor.department = department_by_code(data["department"]) if data["department"] else None
    if "config_item" in data:
        item_id = data["config_item"]
        if item_id is not None and not ConfigItem.objects.filter(pk=item_id).exists():
            raise NotFound(f"no configuration item has id {item_id}", field="config_item")
        monitor.config_item_id = item_id
    impact = data.get("impact") or {}
    if "care_effect" in impact:
        monitor.care_effect = _choice(impact["care_effect"], CareEffect, "impact.care_effect")
    if "scope" in impact:
        monitor.scope = _choice(impact["scope"], Scope, "impact.scope")
    if "tags" in data:
        monitor.tags = _clean_tags(data["tags"] or [])
    if "value_threshold" in data:
        monitor.value_threshold = data["value_threshold"]
    if "paused" in data:
        monitor.paused = bool(data["paused"])
    if monitor.timeout_s >= monitor.interval_s and not monitor.is_heartbeat:
        raise InvalidInput(
            f"must be shorter than interval_s ({monitor.interval_s})", field="timeout_s"
        )


def create_monitor(actor: User | None, data: dict[str, Any]) -> Monitor:
    """A new monitor from the API's (or a form's, or the demo's) fields."""
    if actor is not None:
        require(actor, Perm.MONITORS_MANAGE)
    kind = _choice(str(data.get("kind", "")), MonitorKind, "kind")
    now = timezone.now()
    monitor = Monitor(kind=kind, created_at=now, updated_at=now)
    _store_config(monitor, configs.parse_config(kind, data.get("config") or {}))
    _apply(monitor, data)
    if not monitor.name:
        raise InvalidInput("must not be empty", field="name")
    monitor.status = MonitorStatus.PAUSED if monitor.paused else MonitorStatus.UNKNOWN
    monitor.next_due_at = _first_due(monitor, now)
    with transaction.atomic():
        monitor.save(force_insert=True)
        _set_parents(monitor, list(data.get("depends_on") or []))
        audit.record(
            "monitor.create",
            actor=actor,
            obj=monitor,
            summary=f"Monitor {monitor.name} ({kind}) created",
            after=audit.snapshot(monitor, MONITOR_FIELDS),
        )
    return monitor


def get_monitor(monitor_id: int, *, for_update: bool = False) -> Monitor:
    monitors = Monitor.objects.select_related("service", "department")
    if for_update:
        monitors = monitors.select_for_update(of=("self",))
    try:
        return monitors.get(pk=monitor_id)
    except Monitor.DoesNotExist:
        raise NotFound(f"no monitor has id {monitor_id}", field="id") from None


def update_monitor(actor: User | None, monitor_id: int, data: dict[str, Any]) -> Monitor:
    if actor is not None:
        require(actor, Perm.MONITORS_MANAGE)
    if "kind" in data and data["kind"] is not None:
        raise InvalidInput("a monitor's kind cannot change; create a new monitor", field="kind")
    with transaction.atomic():
        monitor = get_monitor(monitor_id, for_update=True)
        before = audit.snapshot(monitor, MONITOR_FIELDS)
        was_paused = monitor.paused
        if "config" in data and data["config"] is not None:
            raw = _merge_kept_secrets(monitor, data["config"])
            _store_config(monitor, configs.parse_config(monitor.kind, raw))
        _apply(monitor, data)
        now = timezone.now()
        if monitor.paused and not was_paused:
            monitor.status = MonitorStatus.PAUSED
            monitor.status_since = now
        elif was_paused and not monitor.paused:
            monitor.status = MonitorStatus.UNKNOWN
            monitor.status_since = now
            monitor.fail_count = monitor.ok_count = 0
            monitor.next_due_at = _first_due(monitor, now)
        elif "interval_s" in data or "config" in data:
            monitor.next_due_at = _first_due(monitor, now)
        monitor.updated_at = now
        monitor.save()
        if "depends_on" in data and data["depends_on"] is not None:
            _set_parents(monitor, list(data["depends_on"]))
        changed = sorted(k for k, v in data.items() if v is not None)
        audit.record(
            "monitor.update",
            actor=actor,
            obj=monitor,
            summary=f"Monitor {monitor.name} changed: {', '.join(changed)}",
            before=before,
            after=audit.snapshot(monitor, MONITOR_FIELDS),
        )
    return monitor


def delete_monitor(actor: User | None, monitor_id: int) -> None:
    """Remove a monitor and its history. One that opened incidents is paused instead: the
    tickets refer to it."""
    if actor is not None:
        require(actor, Perm.MONITORS_MANAGE)
    with transaction.atomic():
        monitor = get_monitor(monitor_id, for_update=True)
        if monitor.incidents.exists() or monitor.dependents.exists():
            raise Conflict(
                f"monitor {monitor.name} has incidents or dependents; pause it instead",
                field="id",
            )
        audit.record(
            "monitor.delete",
            actor=actor,
            obj=monitor,
            summary=f"Monitor {monitor.name} ({monitor.kind}) deleted",
            before=audit.snapshot(monitor, MONITOR_FIELDS),
        )
        try:
            monitor.delete()
        except IntegrityError:
            raise Conflict(f"monitor {monitor.name} is still referred to", field="id") from None


def visible_monitors(service: str | None = None, status: str | None = None) -> Any:
    monitors = Monitor.objects.select_related("service")
    if service:
        monitors = monitors.filter(service__code=service)
    if status == MonitorStatus.PAUSED:
        monitors = monitors.filter(paused=True)
    elif status:
        monitors = monitors.filter(Q(status=status) & Q(paused=False))
    return monitors.order_by("name", "id")
