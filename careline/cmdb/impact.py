"""Who is hurt when an item fails: `item_impact(item_id) -> Impact`.

This is the one function the service desk (a ticket's failed item), monitoring (a monitor
attached to an item) and changes (the risk of touching an item) call.

How it is worked out:

1. Affected items. An item is affected when it depends on, runs on or connects to an item
   that is affected, starting from the failed one: one recursive query walks the
   relationships backwards (target to source). `UNION`, not `UNION ALL`, keeps each item
   once, so cycles end the walk instead of looping. The walk reads relationships only, not
   the items' status: delete a retired item's relationships (or the item) when it leaves
   service, or it still counts as affected.
2. Affected clinical services: those with an affected component. A service is `down` when
   any affected component is not redundant, `degraded` when only redundant ones are.
3. Departments that rely on those services, and the effect on their care:
   - `blocked`: the service is down and the department relies on it as essential;
   - `degraded`: the service is down and the department has a downtime procedure
     (workaround), or the service is degraded and the department needs it
     (essential or workaround);
   - `none`: the department relies on it for convenience only.
   A department relying on several affected services takes the worst effect.
4. The care effect of the failure is the worst over the departments; its scope is
   `enterprise` when affected departments are at two or more sites, `site` when two or more
   departments of one site are affected, `department` for one, `person` for none.

Steps 1 and 2 are one SQL statement on SQLite and PostgreSQL alike; step 3 is one more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from careline.cmdb.choices import Reliance
from careline.cmdb.models import ConfigItem, DepartmentReliance, Relationship, ServiceComponent
from careline.core.choices import ClinicalArea
from careline.core.errors import NotFound
from careline.core.models import ClinicalService

BLOCKED, DEGRADED, NONE = "blocked", "degraded", "none"
_EFFECT_RANK = {NONE: 0, DEGRADED: 1, BLOCKED: 2}


@dataclass(frozen=True)
class AffectedService:
    code: str
    name: str
    tier: int
    state: str  # "down" or "degraded"


@dataclass(frozen=True)
class AffectedDepartment:
    code: str
    name: str
    site: str
    clinical_area: str
    critical: bool
    care_effect: str
    services: list[str]


@dataclass(frozen=True)
class Impact:
    item_id: int
    item_name: str
    item_count: int  # the failed item and every item affected through it
    services: list[AffectedService]
    departments: list[AffectedDepartment]
    care_effect: str  # blocked, degraded, none
    scope: str  # person, department, site, enterprise
    explanation: str
    clinical_areas: list[dict[str, Any]] = field(default_factory=list)

    @property
    def critical_area(self) -> bool:
        return any(d.critical and d.care_effect != NONE for d in self.departments)

    @property
    def top_service(self) -> AffectedService | None:
        """The most life-critical service affected, down before degraded."""
        ranked = sorted(self.services, key=lambda s: (s.tier, s.state != "down", s.code))
        return ranked[0] if ranked else None


def _walk_sql() -> str:
    rel = Relationship._meta.db_table
    comp = ServiceComponent._meta.db_table
    # One statement: the walk, its size, and the services it reaches. The covering index
    # (target_id, source_id) makes each recursive step an index-only lookup.
    return f"""
        WITH RECURSIVE affected(id) AS (
            SELECT CAST(%s AS BIGINT)
            UNION
            SELECT r.source_id FROM {rel} r JOIN affected a ON r.target_id = a.id
        )
        SELECT 0, COUNT(*), 0 FROM affected
        UNION ALL
        SELECT 1, c.service_id, MIN(CASE WHEN c.redundant THEN 1 ELSE 0 END)
        FROM {comp} c JOIN affected a ON c.item_id = a.id
        GROUP BY c.service_id
    """  # noqa: S608  (table names come from the models)


def affected_item_ids(item_id: int) -> set[int]:
    """Every item affected when this one fails, itself included (for graphs and lists)."""
    rel = Relationship._meta.db_table
    sql = f"""
        WITH RECURSIVE affected(id) AS (
            SELECT CAST(%s AS BIGINT)
            UNION
            SELECT r.source_id FROM {rel} r JOIN affected a ON r.target_id = a.id
        )
        SELECT id FROM affected
    """  # noqa: S608  (table name from the model)
    with connection.cursor() as cursor:
        cursor.execute(sql, [item_id])
        return {int(row[0]) for row in cursor.fetchall()}


def _department_effect(state: str, reliance: str) -> str:
    if reliance == Reliance.CONVENIENCE:
        return NONE
    if state == "down" and reliance == Reliance.ESSENTIAL:
        return BLOCKED
    return DEGRADED


def _scope(departments: list[AffectedDepartment]) -> str:
    hurt = [d for d in departments if d.care_effect != NONE]
    sites = {d.site for d in hurt}
    if len(sites) >= 2:
        return "enterprise"
    if len(hurt) >= 2:
        return "site"
    if hurt:
        return "department"
    return "person"


def _explain(
    item: str,
    services: list[AffectedService],
    departments: list[AffectedDepartment],
    effect: str,
    scope: str,
) -> str:
    if not services:
        return f"{item} is part of no clinical service, directly or through what depends on it: no effect on patient care."
    names = ", ".join(f"{s.name} ({s.state})" for s in services[:5])
    more = f" and {len(services) - 5} more" if len(services) > 5 else ""
    hurt = [d for d in departments if d.care_effect != NONE]
    if not hurt:
        return (
            f"{item} failing affects {names}{more}, but no department relies on "
            f"{'it' if len(services) == 1 else 'them'} for care: no effect on patient care."
        )
    worst = [d for d in hurt if d.care_effect == effect]
    critical = [d for d in worst if d.critical]
    example = (critical or worst)[0]
    area = (
        ClinicalArea(example.clinical_area).label
        if example.clinical_area in ClinicalArea.values
        else example.clinical_area
    )
    why = {
        BLOCKED: "relies on it as essential",
        DEGRADED: "can work on with a workaround",
    }[effect]
    where = {
        "enterprise": f"{len(hurt)} departments at {len({d.site for d in hurt})} sites",
        "site": f"{len(hurt)} departments of one site",
        "department": "one department",
    }[scope]
    return (
        f"{item} failing affects {names}{more}; care is {effect} because "
        f"{example.name} ({'a critical area' if example.critical else area.lower()}) {why}; "
        f"scope {scope}: {where}."
    )


def item_impact(item_id: int) -> Impact:
    """The clinical impact of this item failing. Raises NotFound for an unknown id."""
    item = ConfigItem.objects.filter(pk=item_id).values_list("name", flat=True).first()
    if item is None:
        raise NotFound(f"no configuration item has id {item_id}", field="id")
    with connection.cursor() as cursor:
        cursor.execute(_walk_sql(), [item_id])
        rows = cursor.fetchall()
    item_count = 1
    states: dict[int, str] = {}
    for kind, value, redundant_only in rows:
        if kind == 0:
            item_count = int(value)
        else:
            states[int(value)] = "degraded" if redundant_only else "down"
    found = list(ClinicalService.objects.filter(pk__in=states))
    services = sorted(
        (AffectedService(s.code, s.name, s.tier, states[s.pk]) for s in found),
        key=lambda s: (s.tier, s.state != "down", s.code),
    )
    code_of = {s.pk: s.code for s in found}
    by_department: dict[int, tuple[Any, str, list[str]]] = {}
    reliances = DepartmentReliance.objects.filter(service_id__in=states).select_related(
        "department", "department__site"
    )
    for reliance in reliances:
        effect = _department_effect(states[reliance.service_id], reliance.criticality)
        department, worst, names = by_department.get(
            reliance.department_id, (reliance.department, NONE, [])
        )
        if _EFFECT_RANK[effect] > _EFFECT_RANK[worst]:
            worst = effect
        by_department[reliance.department_id] = (
            department,
            worst,
            [*names, code_of[reliance.service_id]],
        )
    departments = sorted(
        (
            AffectedDepartment(
                code=d.code,
                name=d.name,
                site=d.site.code,
                clinical_area=d.clinical_area,
                critical=d.critical,
                care_effect=effect,
                services=sorted(names),
            )
            for d, effect, names in by_department.values()
        ),
        key=lambda d: (-_EFFECT_RANK[d.care_effect], not d.critical, d.code),
    )
    effect = max((d.care_effect for d in departments), key=_EFFECT_RANK.__getitem__, default=NONE)
    scope = _scope(departments)
    areas: dict[str, dict[str, Any]] = {}
    for d in departments:
        if d.care_effect == NONE:
            continue
        area = areas.setdefault(
            d.clinical_area,
            {"area": d.clinical_area, "critical": False, "care_effect": NONE, "departments": []},
        )
        area["critical"] = area["critical"] or d.critical
        if _EFFECT_RANK[d.care_effect] > _EFFECT_RANK[area["care_effect"]]:
            area["care_effect"] = d.care_effect
        area["departments"].append(d.code)
    return Impact(
        item_id=item_id,
        item_name=item,
        item_count=item_count,
        services=services,
        departments=departments,
        care_effect=effect,
        scope=scope,
        explanation=_explain(item, services, departments, effect, scope),
        clinical_areas=sorted(areas.values(), key=lambda a: (not a["critical"], a["area"])),
    )
