"""Raising a change: its number, its impact from the CMDB, its risk, and edits while draft."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from careline.changes.choices import ChangeKind, ChangeState, ClinicalImpact, Complexity
from careline.changes.models import Change, ChangeCounter, ChangeTemplate
from careline.changes.services import risk
from careline.cmdb.impact import item_impact
from careline.cmdb.models import ConfigItem
from careline.core import audit
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import ClinicalService, User
from careline.core.numbers import take_next
from careline.core.permissions import Perm, require
from careline.core.services import clean_name, service_by_code

COUNTER_KEY = "CHG"
_EFFECT_RANK = {"none": 0, "degraded": 1, "blocked": 2}
CHANGE_FIELDS = [
    "number",
    "kind",
    "state",
    "title",
    "clinical_impact",
    "complexity",
    "tested",
    "out_of_hours",
    "risk_level",
    "planned_start",
    "planned_end",
    "service_unavailable",
]
EDITABLE = (
    "title",
    "description",
    "items",
    "services",
    "clinical_impact",
    "complexity",
    "tested",
    "out_of_hours",
    "implementation_plan",
    "backout_plan",
    "planned_start",
    "planned_end",
    "service_unavailable",
    "emergency_justification",
)


def next_number() -> str:
    """CHG-000123: taken inside the creating transaction, so a rollback gives it back."""
    return f"{COUNTER_KEY}-{take_next(ChangeCounter, 'key', COUNTER_KEY):06d}"


def visible(actor: User) -> QuerySet[Change]:
    require(actor, Perm.CHANGES_VIEW)
    return Change.objects.select_related("requester", "template", "maintenance_window")


def get_change(actor: User, change_id: int, *, for_update: bool = False) -> Change:
    changes = visible(actor)
    if for_update:
        changes = changes.select_for_update(of=("self",))
    try:
        return changes.get(pk=change_id)
    except Change.DoesNotExist:
        raise NotFound(f"no change {change_id}", field="id") from None


@contextmanager
def changing(actor: User, change_id: int, version: int | None = None) -> Iterator[Change]:
    """Lock a change, refuse a stale version, and save it with version + 1."""
    with transaction.atomic():
        change = get_change(actor, change_id, for_update=True)
        if version is not None and version != change.version:
            raise Conflict(
                f"change {change.number} changed since you read it (your version {version}, "
                f"now {change.version}); reload and try again",
                field="version",
            )
        yield change
        change.version += 1
        change.updated_at = timezone.now()
        change.save()


def _choice(value: str, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise InvalidInput(
            f"must be one of {', '.join(choices.values)} (got {value[:40]!r})", field=field
        )
    return value


def _window(start: datetime | None, end: datetime | None) -> None:
    for value, field in ((start, "planned_start"), (end, "planned_end")):
        if value is not None and timezone.is_naive(value):
            raise InvalidInput("must carry a time zone offset", field=field)
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            f"must be after planned_start (got {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M})",
            field="planned_end",
        )


def _items(ids: Sequence[int]) -> list[ConfigItem]:
    found = {i.pk: i for i in ConfigItem.objects.filter(pk__in=ids)}
    for item_id in ids:
        if item_id not in found:
            raise NotFound(f"no configuration item has id {item_id}", field="items")
    return [found[i] for i in dict.fromkeys(ids)]


def _impact(items: list[ConfigItem]) -> dict[str, Any]:
    """The CMDB's impact of every item the change touches, merged: worst effect wins."""
    services: dict[str, dict[str, Any]] = {}
    departments: dict[str, dict[str, Any]] = {}
    effect = "none"
    explanations = []
    for item in items:
        impact = item_impact(item.pk)
        for s in impact.services:
            services.setdefault(
                s.code, {"code": s.code, "name": s.name, "tier": s.tier, "state": s.state}
            )
        for d in impact.departments:
            known = departments.get(d.code)
            if known is None or _EFFECT_RANK[d.care_effect] > _EFFECT_RANK[known["care_effect"]]:
                departments[d.code] = {"code": d.code, "name": d.name, "care_effect": d.care_effect}
        if _EFFECT_RANK[impact.care_effect] > _EFFECT_RANK[effect]:
            effect = impact.care_effect
        explanations.append(f"{item.name}: {impact.explanation}")
    return {
        "services": sorted(services.values(), key=lambda s: (s["tier"], s["code"])),
        "departments": sorted(departments.values(), key=lambda d: d["code"]),
        "care_effect": effect,
        "explanation": " ".join(explanations),
    }


def _assess(change: Change, services: list[ClinicalService]) -> None:
    result = risk.assess(
        clinical_impact=change.clinical_impact,
        complexity=change.complexity,
        tested=change.tested,
        has_backout_plan=change.has_backout_plan,
        out_of_hours=change.out_of_hours,
        tier1=any(s.tier == 1 for s in services),
    )
    change.risk_level, change.risk_reason = result.level, result.reason


def _apply(
    change: Change, data: dict[str, Any]
) -> tuple[list[ConfigItem], list[ClinicalService]] | None:
    """Copy fields onto the change; returns the new items and services when either was given."""
    for field in ("description", "implementation_plan", "backout_plan", "emergency_justification"):
        if field in data:
            setattr(change, field, (data[field] or "").strip())
    if "title" in data:
        change.title = clean_name(data["title"], field="title")
    if "clinical_impact" in data:
        change.clinical_impact = _choice(data["clinical_impact"], ClinicalImpact, "clinical_impact")
    if "complexity" in data:
        change.complexity = _choice(data["complexity"], Complexity, "complexity")
    for flag in ("tested", "out_of_hours", "service_unavailable"):
        if flag in data:
            setattr(change, flag, bool(data[flag]))
    if "planned_start" in data:
        change.planned_start = data["planned_start"]
    if "planned_end" in data:
        change.planned_end = data["planned_end"]
    _window(change.planned_start, change.planned_end)
    change.has_backout_plan = bool(change.backout_plan)
    if "items" not in data and "services" not in data:
        return None
    items = _items(data.get("items") or []) if "items" in data else list(change.items.all())
    if "services" in data:
        named = [service_by_code(code, field="services") for code in data["services"] or []]
    else:
        named = list(change.services.all())
    change.impact = _impact(items)
    affected = {s["code"] for s in change.impact["services"]} - {s.code for s in named}
    services = named + list(ClinicalService.objects.filter(code__in=affected))
    return items, services


def create_change(actor: User, data: dict[str, Any]) -> Change:
    require(actor, Perm.CHANGES_EDIT)
    kind = _choice(data.get("kind") or "", ChangeKind, "kind")
    template = None
    if data.get("template") is not None:
        if kind != ChangeKind.STANDARD:
            raise InvalidInput("only a standard change comes from a template", field="template")
        template = ChangeTemplate.objects.filter(pk=data["template"]).first()
        if template is None:
            raise NotFound(f"no change template {data['template']}", field="template")
    elif kind == ChangeKind.STANDARD:
        raise InvalidInput("a standard change names its pre-approved template", field="template")
    now = timezone.now()
    with transaction.atomic():
        change = Change(
            kind=kind, template=template, requester=actor, created_at=now, updated_at=now
        )
        if template is not None:
            change.description = template.description
            change.implementation_plan = template.implementation_plan
            change.backout_plan = template.backout_plan
            if not data.get("services") and not data.get("items"):
                data = {**data, "services": [s.code for s in template.services.all()]}
        found = _apply(
            change, {"items": [], "services": [], **data, "title": data.get("title", "")}
        )
        assert found is not None
        items, services = found
        _assess(change, services)
        change.number = next_number()
        change.save()
        change.items.set(items)
        change.services.set(services)
        audit.record(
            "change.create",
            actor=actor,
            obj=change,
            summary=f"Change {change.number} raised: {change.title}",
            after=audit.snapshot(change, CHANGE_FIELDS),
        )
    return change


def update_change(actor: User, change_id: int, version: int, data: dict[str, Any]) -> Change:
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise InvalidInput(
            f"cannot be changed here (editable: {', '.join(EDITABLE)})", field=sorted(unknown)[0]
        )
    require(actor, Perm.CHANGES_EDIT)
    with changing(actor, change_id, version) as change:
        if change.state != ChangeState.DRAFT:
            raise Conflict(
                f"change {change.number} is {change.state}; only a draft can be edited",
                field="state",
            )
        before = audit.snapshot(change, CHANGE_FIELDS)
        found = _apply(change, data)
        if found is not None:
            items, services = found
            change.items.set(items)
            change.services.set(services)
        else:
            services = list(change.services.all())
        _assess(change, services)
        audit.record(
            "change.update",
            actor=actor,
            obj=change,
            summary=f"Change {change.number} edited",
            before=before,
            after=audit.snapshot(change, CHANGE_FIELDS),
        )
    return change


@transaction.atomic
def create_template(
    actor: User,
    *,
    name: str,
    description: str = "",
    implementation_plan: str = "",
    backout_plan: str = "",
    services: Sequence[str] = (),
) -> ChangeTemplate:
    require(actor, Perm.CHANGES_APPROVE)
    name = clean_name(name)
    if ChangeTemplate.objects.filter(name=name).exists():
        raise Conflict(f"a change template named {name!r} already exists", field="name")
    found = [service_by_code(code, field="services") for code in services]
    template = ChangeTemplate.objects.create(
        name=name,
        description=description.strip(),
        implementation_plan=implementation_plan.strip(),
        backout_plan=backout_plan.strip(),
        created_at=timezone.now(),
    )
    template.services.set(found)
    audit.record(
        "change_template.create",
        actor=actor,
        obj=template,
        summary=f"Standard change template {name}",
        after={"services": sorted(services)},
    )
    return template
