"""The CMDB's pages: the item list, an item with its relationships and its impact drawn as a
tree, vendors, and the lifecycle, vulnerability and budget reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from pydantic import ValidationError

from careline.cmdb import reports
from careline.cmdb.api import ItemFilter, filtered_items
from careline.cmdb.choices import ItemStatus, ItemType, RelationKind, SupportStatus
from careline.cmdb.impact import item_impact
from careline.cmdb.models import Baa, ConfigItem, Relationship, Vendor
from careline.cmdb.services.items import risk_state
from careline.cmdb.services.vendors import active_baa_q
from careline.core.errors import NotFound
from careline.core.permissions import Perm
from careline.core.views import require_page

PAGE_SIZE = 50
TREE_LIMIT = 200  # items drawn in an impact tree; the counts above it stay exact


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "cmdb/not_found.html", {"message": message}, status=404)


def item_list(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.CMDB_VIEW)) is not None:
        return denied
    data = {k: v.strip() for k, v in request.GET.dict().items() if k != "page" and v.strip()}
    errors: dict[str, str] = {}
    try:
        filters = ItemFilter.model_validate(data)
    except ValidationError as exc:
        errors = {str(e["loc"][0]): e["msg"] for e in exc.errors() if e["loc"]}
        filters = ItemFilter.model_validate({})
    page = Paginator(filtered_items(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cmdb/item_list.html",
        {
            "page": page,
            "values": data,
            "errors": errors,
            "query": query.urlencode(),
            "types": ItemType.choices,
            "statuses": ItemStatus.choices,
            "support_statuses": SupportStatus.choices,
        },
        status=422 if errors else 200,
    )


@dataclass
class TreeNode:
    item_id: int
    name: str
    item_type: str
    kind: str  # how it relates to its parent in the tree ("runs on")
    children: list[TreeNode] = field(default_factory=list)


def impact_tree(item: ConfigItem, limit: int = TREE_LIMIT) -> tuple[TreeNode, int]:
    """The affected items as a tree: each under the item whose failure reaches it first
    (breadth first, one query per level). Returns the root and how many nodes were drawn."""
    root = TreeNode(item.pk, item.name, item.get_item_type_display(), "")
    nodes = {item.pk: root}
    frontier = [item.pk]
    while frontier and len(nodes) < limit:
        edges = (
            Relationship.objects.filter(target_id__in=frontier)
            .select_related("source")
            .order_by("target_id", "source__name")
        )
        next_frontier: list[int] = []
        for edge in edges:
            if edge.source_id in nodes or len(nodes) >= limit:
                continue
            child = TreeNode(
                edge.source_id,
                edge.source.name,
                edge.source.get_item_type_display(),
                RelationKind(edge.kind).label,
            )
            nodes[edge.source_id] = child
            nodes[edge.target_id].children.append(child)
            next_frontier.append(edge.source_id)
        frontier = next_frontier
    return root, len(nodes)


def item_page(request: HttpRequest, item_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.CMDB_VIEW)) is not None:
        return denied
    item = (
        ConfigItem.objects.select_related("site", "department", "vendor", "risk_accepted_by")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        return _not_found(request, f"There is no configuration item {item_id}.")
    try:
        impact = item_impact(item.pk)
    except NotFound:
        return _not_found(request, f"There is no configuration item {item_id}.")
    tree, drawn = impact_tree(item)
    today = timezone.localdate()
    return render(
        request,
        "cmdb/item.html",
        {
            "item": item,
            "impact": impact,
            "tree": tree,
            "drawn": drawn,
            "risk_state": risk_state(item, today),
            "outgoing": item.outgoing.select_related("target").order_by("kind", "target__name"),
            "incoming": item.incoming.select_related("source").order_by("kind", "source__name"),
            "components": item.service_roles.select_related("service").order_by("service__code"),
            "contracts": item.contracts.select_related("vendor").order_by("ends_on"),
            "vulnerabilities": item.vulnerabilities.filter(fixed_on__isnull=True).order_by(
                "patch_due"
            ),
            "today": today,
        },
    )


def vendor_list(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.CMDB_VIEW)) is not None:
        return denied
    today = timezone.localdate()
    with_baa = set(Baa.objects.filter(active_baa_q(today)).values_list("vendor_id", flat=True))
    vendors = [(v, v.pk in with_baa) for v in Vendor.objects.order_by("name")]
    return render(request, "cmdb/vendor_list.html", {"vendors": vendors})


def vendor_page(request: HttpRequest, vendor_id: int) -> HttpResponse:
    if (denied := require_page(request, Perm.CMDB_VIEW)) is not None:
        return denied
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None:
        return _not_found(request, f"There is no vendor {vendor_id}.")
    today = timezone.localdate()
    return render(
        request,
        "cmdb/vendor.html",
        {
            "vendor": vendor,
            "contacts": vendor.contacts.order_by("escalation_level", "name"),
            "contracts": vendor.contracts.prefetch_related("items").order_by("ends_on"),
            "baas": vendor.baas.order_by("-signed_on"),
            "active_baa": vendor.baas.filter(active_baa_q(today)).first(),
            "items": vendor.items.order_by("name")[:200],
            "today": today,
        },
    )


# --- Reports: one page each, one table each --------------------------------------------


@dataclass
class Report:
    title: str
    lead: str
    headers: list[str]
    rows: list[list[Any]]  # a cell is text, or (text, url)


def _item_cell(item: ConfigItem) -> tuple[str, str]:
    return (item.name, f"/cmdb/items/{item.pk}/")


def _where(item: ConfigItem) -> str:
    return " · ".join(
        x
        for x in (
            item.site.code if item.site else "",
            item.department.code if item.department else "",
            item.room,
        )
        if x
    )


def _warranties() -> Report:
    today = timezone.localdate()
    rows = [
        [
            _item_cell(i),
            i.get_item_type_display(),
            _where(i),
            i.warranty_end,
            f"{(i.warranty_end - today).days} days" if i.warranty_end else "",
        ]
        for i in reports.warranties_ending(today)
    ]
    return Report(
        "Warranties ending in 90 days",
        "Renew, replace or accept running out of warranty.",
        ["Item", "Type", "Where", "Warranty ends", "Left"],
        rows,
    )


def _os_eol() -> Report:
    today = timezone.localdate()
    rows = [
        [
            _item_cell(i),
            f"{i.os_name} {i.os_version}".strip(),
            i.os_end_of_life,
            _where(i),
            i.get_support_status_display(),
        ]
        for i in reports.os_past_end_of_life(today)
    ]
    return Report(
        "Operating systems past end of life",
        "No more security fixes from the maker.",
        ["Item", "Operating system", "End of life", "Where", "Support"],
        rows,
    )


def _constrained() -> Report:
    today = timezone.localdate()
    rows = [
        [
            _item_cell(d.item),
            _where(d.item),
            d.item.compensating_controls or "none described",
            {"accepted": "Accepted", "expired": "EXPIRED", "missing": "MISSING"}.get(
                d.risk_state, d.risk_state
            ),
            d.item.risk_acceptance_expires or "",
            d.item.risk_accepted_by.display_name if d.item.risk_accepted_by else "",
        ]
        for d in reports.constrained_devices(today)
    ]
    return Report(
        "Constrained medical devices",
        "Devices that cannot be patched normally: their compensating controls and risk acceptance.",
        ["Device", "Where", "Compensating controls", "Risk acceptance", "Until", "Approved by"],
        rows,
    )


def _replacements() -> Report:
    rows = [
        [
            str(y.year),
            str(y.count),
            f"{y.cost:,.2f}",
            ", ".join(i.name for i in y.items[:8]) + (" …" if len(y.items) > 8 else ""),
        ]
        for y in reports.replacement_plan(timezone.localdate())
    ]
    return Report(
        "Replacement plan",
        "Items due for replacement by year (overdue ones this year), and what it costs.",
        ["Year", "Items", "Cost", "Which"],
        rows,
    )


def _vulnerabilities() -> Report:
    today = timezone.localdate()
    rows = [
        [
            (r["item"], f"/cmdb/items/{r['item_id']}/"),
            str(r["open"]),
            str(r["critical"]),
            str(r["past_target"]),
            f"{r['oldest_days']} days",
        ]
        for r in reports.vulnerabilities_by_item(today)
    ]
    return Report(
        "Open vulnerabilities by item",
        "From the scanner's last import; past target means past the patch deadline for its severity.",
        ["Item", "Open", "Critical", "Past target", "Oldest"],
        rows,
    )


def _budget() -> Report:
    year = timezone.localdate().year
    rows = [
        [
            line.scope,
            line.name,
            f"{line.yearly_cost:,.2f}",
            f"{line.replacements:,.2f}",
            f"{line.forecast:,.2f}",
            "" if line.budget is None else f"{line.budget:,.2f}",
            "" if line.variance is None else f"{line.variance:,.2f}",
        ]
        for line in reports.budget_report(year)
    ]
    return Report(
        f"Budget {year}",
        "Running and contract costs plus planned replacements, against each budget (negative: over).",
        ["By", "Name", "Yearly cost", "Replacements", "Forecast", "Budget", "Left"],
        rows,
    )


REPORTS = {
    "warranties": _warranties,
    "os-end-of-life": _os_eol,
    "constrained-devices": _constrained,
    "replacement-plan": _replacements,
    "vulnerabilities": _vulnerabilities,
    "budget": _budget,
}


def report_page(request: HttpRequest, name: str) -> HttpResponse:
    if (denied := require_page(request, Perm.CMDB_VIEW)) is not None:
        return denied
    build = REPORTS.get(name)
    if build is None:
        return _not_found(request, f"There is no report {name!r}.")
    report = build()
    rows = [[_cell(value) for value in row] for row in report.rows]
    return render(request, "cmdb/report.html", {"report": report, "rows": rows})


def _cell(value: Any) -> dict[str, str]:
    if isinstance(value, tuple):
        return {"text": str(value[0]), "url": str(value[1])}
    return {"text": "" if value is None else str(value), "url": ""}
