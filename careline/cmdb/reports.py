"""Lifecycle, vulnerability and budget reports: what IT managers look at each month."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Min, Q, QuerySet

from careline.cmdb.choices import BudgetScope, ItemStatus, ItemType, SupportStatus
from careline.cmdb.models import (
    Baa,
    Budget,
    ConfigItem,
    Contract,
    ServiceComponent,
    Vulnerability,
)
from careline.cmdb.services.items import risk_state
from careline.cmdb.services.vendors import active_baa_q

ZERO = Decimal("0.00")


def _in_use() -> QuerySet[ConfigItem]:
    return ConfigItem.objects.exclude(status=ItemStatus.RETIRED).select_related(
        "site", "department"
    )


def warranties_ending(today: date, days: int = 90) -> QuerySet[ConfigItem]:
    """Items whose warranty ends within `days` (those already ended are not listed)."""
    return (
        _in_use()
        .filter(warranty_end__gte=today, warranty_end__lte=today + timedelta(days=days))
        .order_by("warranty_end", "name")
    )


def contracts_ending(today: date, days: int = 90) -> QuerySet[Contract]:
    """Contracts ending within `days` (those already ended are not listed)."""
    return (
        Contract.objects.filter(ends_on__gte=today, ends_on__lte=today + timedelta(days=days))
        .select_related("vendor")
        .order_by("ends_on", "reference")
    )


def baas_expiring(today: date, days: int = 90) -> QuerySet[Baa]:
    """BAAs in force today (the CMDB's own rule) whose expiry falls within `days`."""
    return (
        Baa.objects.filter(active_baa_q(today), expires_on__lte=today + timedelta(days=days))
        .select_related("vendor")
        .order_by("expires_on", "vendor__name")
    )


def os_past_end_of_life(today: date) -> QuerySet[ConfigItem]:
    return _in_use().filter(os_end_of_life__lt=today).order_by("os_end_of_life", "name")


@dataclass(frozen=True)
class ConstrainedDevice:
    item: ConfigItem
    risk_state: str  # missing, expired, accepted
    controls_described: bool


def constrained_devices(today: date) -> list[ConstrainedDevice]:
    """Medical devices that cannot be patched normally, and the state of what covers them."""
    items = (
        _in_use()
        .filter(item_type=ItemType.MEDICAL_DEVICE, support_status=SupportStatus.CONSTRAINED)
        .select_related("risk_accepted_by")
        .order_by("risk_acceptance_expires", "name")
    )
    return [
        ConstrainedDevice(item, risk_state(item, today), bool(item.compensating_controls.strip()))
        for item in items
    ]


@dataclass
class ReplacementYear:
    year: int
    count: int = 0
    cost: Decimal = ZERO
    items: list[ConfigItem] = field(default_factory=list)


def replacement_plan(today: date) -> list[ReplacementYear]:
    """Items due for replacement by year (overdue ones in this year), with the cost per year.

    An item with no replacement date is due at its end of life when it has one."""
    years: dict[int, ReplacementYear] = {}
    items = _in_use().filter(Q(replacement_due__isnull=False) | Q(end_of_life__isnull=False))
    for item in items.order_by("name"):
        due = item.replacement_due or item.end_of_life
        assert due is not None
        year = max(due.year, today.year)
        plan = years.setdefault(year, ReplacementYear(year))
        plan.count += 1
        plan.cost += item.replacement_cost or item.purchase_cost or ZERO
        plan.items.append(item)
    return [years[y] for y in sorted(years)]


# --- Vulnerabilities -------------------------------------------------------------------


def open_vulnerabilities() -> QuerySet[Vulnerability]:
    return Vulnerability.objects.filter(fixed_on__isnull=True)


def vulnerabilities_by_item(today: date) -> list[dict[str, Any]]:
    rows = (
        open_vulnerabilities()
        .values("item_id", "item__name")
        .annotate(
            open=Count("id"),
            critical=Count("id", filter=Q(severity="critical")),
            past_target=Count("id", filter=Q(patch_due__lt=today)),
            oldest=Min("first_seen"),
        )
        .order_by("-past_target", "-critical", "-open", "item__name")
    )
    return [
        {
            "item_id": r["item_id"],
            "item": r["item__name"],
            "open": r["open"],
            "critical": r["critical"],
            "past_target": r["past_target"],
            "oldest_days": (today - r["oldest"]).days,
        }
        for r in rows
    ]


def vulnerabilities_by_service(today: date) -> list[dict[str, Any]]:
    """Open findings on each service's own components."""
    rows = (
        ServiceComponent.objects.filter(
            item__vulnerabilities__isnull=False, item__vulnerabilities__fixed_on__isnull=True
        )
        .values("service__code", "service__name")
        .annotate(
            open=Count("item__vulnerabilities"),
            past_target=Count(
                "item__vulnerabilities", filter=Q(item__vulnerabilities__patch_due__lt=today)
            ),
            oldest=Min("item__vulnerabilities__first_seen"),
        )
        .order_by("-past_target", "-open", "service__code")
    )
    return [
        {
            "service": r["service__code"],
            "name": r["service__name"],
            "open": r["open"],
            "past_target": r["past_target"],
            "oldest_days": (today - r["oldest"]).days,
        }
        for r in rows
    ]


def past_patch_target(today: date) -> QuerySet[Vulnerability]:
    return (
        open_vulnerabilities()
        .filter(patch_due__lt=today)
        .select_related("item")
        .order_by("patch_due", "cve")
    )


# --- Budget ----------------------------------------------------------------------------


@dataclass
class BudgetLine:
    scope: str
    key: str
    name: str
    yearly_cost: Decimal = ZERO
    replacements: Decimal = ZERO
    budget: Decimal | None = None

    @property
    def forecast(self) -> Decimal:
        return self.yearly_cost + self.replacements

    @property
    def variance(self) -> Decimal | None:
        """Budget left over (negative: over budget)."""
        return None if self.budget is None else self.budget - self.forecast

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "key": self.key,
            "name": self.name,
            "yearly_cost": str(self.yearly_cost),
            "replacements": str(self.replacements),
            "forecast": str(self.forecast),
            "budget": None if self.budget is None else str(self.budget),
            "variance": None if self.variance is None else str(self.variance),
        }


def _item_costs(year: int) -> tuple[dict[int, Decimal], dict[int, Decimal], dict[int, Decimal]]:
    """Per item: running cost in the year, replacement cost falling in the year; per vendor:
    contract cost in the year. A contract's cost is shared equally by the items it covers."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    running: dict[int, Decimal] = defaultdict(lambda: ZERO)
    replacing: dict[int, Decimal] = defaultdict(lambda: ZERO)
    by_vendor: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for item_id, cost in (
        _in_use().filter(yearly_cost__isnull=False).values_list("pk", "yearly_cost")
    ):
        running[item_id] += cost or ZERO
    due = _in_use().filter(replacement_due__gte=start, replacement_due__lte=end)
    for item_id, cost, bought in due.values_list("pk", "replacement_cost", "purchase_cost"):
        replacing[item_id] += cost or bought or ZERO
    contracts = Contract.objects.filter(starts_on__lte=end, ends_on__gte=start).prefetch_related(
        "items"
    )
    for contract in contracts:
        by_vendor[contract.vendor_id] += contract.yearly_cost
        covered = [i.pk for i in contract.items.all()]
        for item_id in covered:
            running[item_id] += (contract.yearly_cost / len(covered)).quantize(Decimal("0.01"))
    return running, replacing, by_vendor


def budget_report(year: int) -> list[BudgetLine]:
    """Yearly cost and forecast (with planned replacements) by service, department and vendor,
    against the budget set for each."""
    running, replacing, by_vendor = _item_costs(year)
    lines: dict[tuple[str, int], BudgetLine] = {}
    for component in ServiceComponent.objects.select_related("service"):
        line = lines.setdefault(
            ("service", component.service_id),
            BudgetLine("service", component.service.code, component.service.name),
        )
        line.yearly_cost += running.get(component.item_id, ZERO)
        line.replacements += replacing.get(component.item_id, ZERO)
    for item_id, dept_id, code, name, vendor_id, vendor in _in_use().values_list(
        "pk", "department_id", "department__code", "department__name", "vendor_id", "vendor__name"
    ):
        if dept_id is not None:
            line = lines.setdefault(("department", dept_id), BudgetLine("department", code, name))
            line.yearly_cost += running.get(item_id, ZERO)
            line.replacements += replacing.get(item_id, ZERO)
        if vendor_id is not None:
            line = lines.setdefault(
                ("vendor", vendor_id), BudgetLine("vendor", str(vendor_id), vendor)
            )
            line.replacements += replacing.get(item_id, ZERO)
    from_contracts = (
        Contract.objects.filter(vendor_id__in=by_vendor)
        .values_list("vendor_id", "vendor__name")
        .distinct()
    )
    for vendor_id, vendor in from_contracts:
        line = lines.setdefault(("vendor", vendor_id), BudgetLine("vendor", str(vendor_id), vendor))
        line.yearly_cost = by_vendor[vendor_id]
    for budget in Budget.objects.filter(year=year).select_related(
        "service", "department", "vendor"
    ):
        if budget.scope == BudgetScope.SERVICE and budget.service:
            key, line = (
                ("service", budget.service_id),
                BudgetLine("service", budget.service.code, budget.service.name),
            )
        elif budget.scope == BudgetScope.DEPARTMENT and budget.department:
            key, line = (
                ("department", budget.department_id),
                BudgetLine("department", budget.department.code, budget.department.name),
            )
        elif budget.vendor:
            key, line = (
                ("vendor", budget.vendor_id),
                BudgetLine("vendor", str(budget.vendor_id), budget.vendor.name),
            )
        else:
            continue
        lines.setdefault((key[0], int(key[1] or 0)), line).budget = budget.amount
    order = {"service": 0, "department": 1, "vendor": 2}
    return sorted(lines.values(), key=lambda line: (order[line.scope], line.key))
