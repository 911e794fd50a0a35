"""The CMDB: configuration items, their relationships, vendors, contracts and BAAs, and the
clinical impact of an item failing."""

import dataclasses
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, File, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from careline.cmdb import reports
from careline.cmdb.choices import ItemStatus, ItemType, SupportStatus
from careline.cmdb.impact import item_impact
from careline.cmdb.models import (
    Baa,
    ConfigItem,
    Contract,
    DepartmentReliance,
    Relationship,
    ServiceComponent,
    Vendor,
)
from careline.cmdb.schemas import (
    BaaIn,
    BaaOut,
    BudgetIn,
    ComponentIn,
    ComponentOut,
    ContactIn,
    ContactOut,
    ContractIn,
    ContractOut,
    ImpactOut,
    ImportOut,
    ItemFields,
    ItemOut,
    RelationshipIn,
    RelationshipOut,
    RelianceIn,
    RelianceOut,
    RiskAcceptanceIn,
    ScanOut,
    Schema,
    VendorIn,
    VendorOut,
)
from careline.cmdb.services import csvio, items, vendors, vulns
from careline.core.callers import signed_in
from careline.core.errors import InvalidInput, NotFound
from careline.core.permissions import Perm, require
from careline.core.schemas import RowId

router = Router(tags=["cmdb"])
MAX_UPLOAD = 50 * 1024 * 1024


def _viewer(request: HttpRequest) -> None:
    require(signed_in(request), Perm.CMDB_VIEW)


def _given(payload: Schema) -> dict[str, Any]:
    values: dict[str, Any] = payload.dict(exclude_unset=True)
    for name, value in list(values.items()):
        if hasattr(value, "value"):  # enums as their string values
            values[name] = value.value
    return values


# --- Items -----------------------------------------------------------------------------


class ItemFilter(Schema):
    q: str | None = Field(None, max_length=200, description="part of a name, host name or serial")
    item_type: ItemType | None = None
    status: ItemStatus | None = None
    support_status: SupportStatus | None = None
    site: str | None = Field(None, max_length=32)
    department: str | None = Field(None, max_length=32)
    service: str | None = Field(None, max_length=32, description="items that make up this service")


def filtered_items(f: ItemFilter) -> QuerySet[ConfigItem]:
    """The item list's one filter, for the API and the page."""
    qs = ConfigItem.objects.select_related("site", "department", "vendor", "risk_accepted_by")
    if f.q and f.q.strip():
        q = f.q.strip()
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(hostname__icontains=q)
            | Q(serial__icontains=q)
            | Q(ip_address=q)
            if _looks_like_ip(q)
            else Q(name__icontains=q) | Q(hostname__icontains=q) | Q(serial__icontains=q)
        )
    for lookup, value in (
        ("item_type", f.item_type),
        ("status", f.status),
        ("support_status", f.support_status),
        ("site__code", f.site),
        ("department__code", f.department),
        ("service_roles__service__code", f.service),
    ):
        if value:
            qs = qs.filter(**{lookup: value})
    return qs.order_by("name")


def _looks_like_ip(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


@router.get("/cmdb/items", response=list[ItemOut], summary="Configuration items, filtered")
@paginate
def list_items(request: HttpRequest, filters: Query[ItemFilter]) -> QuerySet[ConfigItem]:
    _viewer(request)
    return filtered_items(filters)


@router.post("/cmdb/items", response={201: ItemOut}, summary="Add a configuration item")
def create_item(request: HttpRequest, payload: ItemFields) -> Status[ConfigItem]:
    item = items.create_item(signed_in(request), _given(payload))
    return Status(201, items.get_item(item.pk))


@router.get("/cmdb/items/{item_id}", response=ItemOut)
def get_item(request: HttpRequest, item_id: int) -> ConfigItem:
    _viewer(request)
    return items.get_item(item_id)


@router.patch("/cmdb/items/{item_id}", response=ItemOut, summary="Change an item's fields")
def update_item(request: HttpRequest, item_id: int, payload: ItemFields) -> ConfigItem:
    items.update_item(signed_in(request), item_id, _given(payload))
    return items.get_item(item_id)


@router.delete("/cmdb/items/{item_id}", response={204: None})
def delete_item(request: HttpRequest, item_id: int) -> Status[None]:
    items.delete_item(signed_in(request), item_id)
    return Status(204, None)


@router.post(
    "/cmdb/items/{item_id}/risk-acceptance",
    response=ItemOut,
    summary="Approve running a constrained item until a date",
)
def accept_risk(request: HttpRequest, item_id: int, payload: RiskAcceptanceIn) -> ConfigItem:
    items.accept_risk(signed_in(request), item_id, reason=payload.reason, expires=payload.expires)
    return items.get_item(item_id)


@router.get(
    "/cmdb/items/{item_id}/impact",
    response=ImpactOut,
    summary="Who is hurt when this item fails: services, departments, care effect and scope",
)
def get_impact(request: HttpRequest, item_id: int) -> dict[str, Any]:
    _viewer(request)
    return dataclasses.asdict(item_impact(item_id))


# --- Relationships, service components, reliance ---------------------------------------


class RelationshipFilter(Schema):
    item: int | None = Field(None, description="relationships from or to this item")
    kind: str | None = Field(None, max_length=12)


@router.get("/cmdb/relationships", response=list[RelationshipOut])
@paginate
def list_relationships(
    request: HttpRequest, filters: Query[RelationshipFilter]
) -> QuerySet[Relationship]:
    _viewer(request)
    qs = Relationship.objects.select_related("source", "target").order_by("id")
    if filters.item is not None:
        qs = qs.filter(Q(source_id=filters.item) | Q(target_id=filters.item))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    return qs


@router.post("/cmdb/relationships", response={201: RelationshipOut})
def create_relationship(request: HttpRequest, payload: RelationshipIn) -> Status[Relationship]:
    relationship = items.create_relationship(
        signed_in(request), payload.source, payload.target, payload.kind.value
    )
    return Status(201, relationship)


@router.delete("/cmdb/relationships/{relationship_id}", response={204: None})
def delete_relationship(request: HttpRequest, relationship_id: int) -> Status[None]:
    items.delete_relationship(signed_in(request), relationship_id)
    return Status(204, None)


class ComponentFilter(Schema):
    service: str | None = Field(None, max_length=32, description="clinical service code")


@router.get("/cmdb/components", response=list[ComponentOut], summary="What services are made of")
@paginate
def list_components(
    request: HttpRequest, filters: Query[ComponentFilter]
) -> QuerySet[ServiceComponent]:
    _viewer(request)
    qs = ServiceComponent.objects.select_related("service", "item").order_by(
        "service__code", "item__name"
    )
    return qs.filter(service__code=filters.service) if filters.service else qs


@router.post("/cmdb/components", response={201: ComponentOut})
def add_component(request: HttpRequest, payload: ComponentIn) -> Status[ServiceComponent]:
    component = items.add_component(
        signed_in(request), payload.service, payload.item, redundant=payload.redundant
    )
    return Status(201, component)


@router.delete("/cmdb/components/{component_id}", response={204: None})
def remove_component(request: HttpRequest, component_id: int) -> Status[None]:
    items.remove_component(signed_in(request), component_id)
    return Status(204, None)


@router.get(
    "/cmdb/reliances",
    response=list[RelianceOut],
    summary="Which departments rely on which services",
)
@paginate
def list_reliances(request: HttpRequest) -> QuerySet[DepartmentReliance]:
    _viewer(request)
    return DepartmentReliance.objects.select_related("department", "service").order_by(
        "department__code", "service__code"
    )


@router.put(
    "/cmdb/reliances", response=RelianceOut, summary="Set how much a department relies on a service"
)
def set_reliance(request: HttpRequest, payload: RelianceIn) -> DepartmentReliance:
    return items.set_reliance(
        signed_in(request), payload.department, payload.service, payload.criticality.value
    )


@router.delete("/cmdb/reliances/{reliance_id}", response={204: None})
def remove_reliance(request: HttpRequest, reliance_id: int) -> Status[None]:
    items.remove_reliance(signed_in(request), reliance_id)
    return Status(204, None)


# --- CSV -------------------------------------------------------------------------------


def _upload(file: UploadedFile) -> bytes:
    if file.size is not None and file.size > MAX_UPLOAD:
        raise InvalidInput(f"must be at most {MAX_UPLOAD // (1024 * 1024)} MB", field="file")
    data: bytes = file.read()
    return data


@router.post("/cmdb/import", response=ImportOut, summary="Import items from CSV, all or nothing")
def import_items(request: HttpRequest, file: File[UploadedFile]) -> csvio.ImportResult:
    return csvio.import_items(signed_in(request), _upload(file))


@router.post(
    "/cmdb/vulnerabilities/import",
    response=ScanOut,
    summary="Import a vulnerability scanner's CSV (host, cve, severity, first_seen, fixed)",
)
def import_scan(request: HttpRequest, file: File[UploadedFile]) -> vulns.ScanResult:
    return vulns.import_scan(signed_in(request), _upload(file))


# --- Vendors, contracts, BAAs, budgets -------------------------------------------------


@router.get("/cmdb/vendors", response=list[VendorOut])
@paginate
def list_vendors(request: HttpRequest) -> QuerySet[Vendor]:
    _viewer(request)
    return Vendor.objects.prefetch_related("contacts").order_by("name")


@router.post("/cmdb/vendors", response={201: VendorOut})
def create_vendor(request: HttpRequest, payload: VendorIn) -> Status[Vendor]:
    return Status(201, vendors.save_vendor(signed_in(request), _given(payload)))


@router.get("/cmdb/vendors/{vendor_id}", response=VendorOut)
def get_vendor(request: HttpRequest, vendor_id: int) -> Vendor:
    _viewer(request)
    return vendors.get_vendor(vendor_id)


@router.patch("/cmdb/vendors/{vendor_id}", response=VendorOut)
def update_vendor(request: HttpRequest, vendor_id: int, payload: VendorIn) -> Vendor:
    return vendors.save_vendor(signed_in(request), _given(payload), vendor_id)


@router.post("/cmdb/vendors/{vendor_id}/contacts", response={201: ContactOut})
def add_contact(request: HttpRequest, vendor_id: int, payload: ContactIn) -> Status[Any]:
    return Status(201, vendors.add_contact(signed_in(request), vendor_id, payload.dict()))


@router.delete("/cmdb/vendors/{vendor_id}", response={204: None})
def delete_vendor(request: HttpRequest, vendor_id: int) -> Status[None]:
    vendors.delete_vendor_record(signed_in(request), "vendor", vendor_id)
    return Status(204, None)


@router.get("/cmdb/contracts", response=list[ContractOut])
@paginate
def list_contracts(request: HttpRequest, vendor: RowId | None = None) -> QuerySet[Contract]:
    _viewer(request)
    qs = Contract.objects.prefetch_related("items").order_by("ends_on", "reference")
    return qs.filter(vendor_id=vendor) if vendor is not None else qs


@router.post("/cmdb/contracts", response={201: ContractOut})
def create_contract(request: HttpRequest, payload: ContractIn) -> Status[Contract]:
    return Status(201, vendors.save_contract(signed_in(request), _given(payload)))


@router.get("/cmdb/contracts/{contract_id}", response=ContractOut)
def get_contract(request: HttpRequest, contract_id: int) -> Contract:
    _viewer(request)
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None:
        raise NotFound(f"no contract has id {contract_id}", field="id")
    return contract


@router.patch("/cmdb/contracts/{contract_id}", response=ContractOut)
def update_contract(request: HttpRequest, contract_id: int, payload: ContractIn) -> Contract:
    return vendors.save_contract(signed_in(request), _given(payload), contract_id)


@router.delete("/cmdb/contracts/{contract_id}", response={204: None})
def delete_contract(request: HttpRequest, contract_id: int) -> Status[None]:
    vendors.delete_vendor_record(signed_in(request), "contract", contract_id)
    return Status(204, None)


@router.get("/cmdb/baas", response=list[BaaOut], summary="Business Associate Agreements")
@paginate
def list_baas(request: HttpRequest, vendor: RowId | None = None) -> QuerySet[Baa]:
    _viewer(request)
    qs = Baa.objects.order_by("vendor_id", "-signed_on", "id")
    return qs.filter(vendor_id=vendor) if vendor is not None else qs


@router.post("/cmdb/baas", response={201: BaaOut})
def create_baa(request: HttpRequest, payload: BaaIn) -> Status[Baa]:
    return Status(201, vendors.save_baa(signed_in(request), _given(payload)))


@router.patch("/cmdb/baas/{baa_id}", response=BaaOut)
def update_baa(request: HttpRequest, baa_id: int, payload: BaaIn) -> Baa:
    return vendors.save_baa(signed_in(request), _given(payload), baa_id)


@router.delete("/cmdb/baas/{baa_id}", response={204: None})
def delete_baa(request: HttpRequest, baa_id: int) -> Status[None]:
    vendors.delete_vendor_record(signed_in(request), "baa", baa_id)
    return Status(204, None)


@router.get("/cmdb/export", summary="Every item as the CSV file `careline cmdb import` reads")
def export_items(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="cmdb.csv"'
    csvio.export_items(signed_in(request), response)
    return response


@router.put(
    "/cmdb/budgets",
    response={204: None},
    summary="Set a year's budget for a service, department or vendor",
)
def set_budget(request: HttpRequest, payload: BudgetIn) -> Status[None]:
    vendors.set_budget(
        signed_in(request),
        year=payload.year,
        scope=payload.scope.value,
        target=payload.target,
        amount=payload.amount,
    )
    return Status(204, None)


# --- Reports ---------------------------------------------------------------------------


class DaysParam(Schema):
    days: int = Field(90, ge=1, le=730)


@router.get(
    "/cmdb/reports/warranties", response=list[ItemOut], summary="Warranties ending within 90 days"
)
def warranties(request: HttpRequest, params: Query[DaysParam]) -> QuerySet[ConfigItem]:
    _viewer(request)
    return reports.warranties_ending(timezone.localdate(), params.days).select_related(
        "vendor", "risk_accepted_by"
    )


@router.get(
    "/cmdb/reports/os-end-of-life",
    response=list[ItemOut],
    summary="Operating systems past end of life",
)
def os_end_of_life(request: HttpRequest) -> QuerySet[ConfigItem]:
    _viewer(request)
    return reports.os_past_end_of_life(timezone.localdate()).select_related(
        "vendor", "risk_accepted_by"
    )


class ConstrainedOut(Schema):
    item: ItemOut
    risk_state: str
    controls_described: bool


@router.get(
    "/cmdb/reports/constrained-devices",
    response=list[ConstrainedOut],
    summary="Medical devices that cannot be patched, their controls and risk acceptance",
)
def constrained(request: HttpRequest) -> list[reports.ConstrainedDevice]:
    _viewer(request)
    return reports.constrained_devices(timezone.localdate())


class ReplacementYearOut(Schema):
    year: int
    count: int
    cost: str
    items: list[str]


@router.get("/cmdb/reports/replacement-plan", response=list[ReplacementYearOut])
def replacement_plan(request: HttpRequest) -> list[dict[str, Any]]:
    _viewer(request)
    return [
        {"year": y.year, "count": y.count, "cost": str(y.cost), "items": [i.name for i in y.items]}
        for y in reports.replacement_plan(timezone.localdate())
    ]


class VulnerabilityReportOut(Schema):
    by_item: list[dict[str, Any]]
    by_service: list[dict[str, Any]]
    past_target: list[dict[str, Any]]


@router.get("/cmdb/reports/vulnerabilities", response=VulnerabilityReportOut)
def vulnerability_report(request: HttpRequest) -> dict[str, Any]:
    _viewer(request)
    today = timezone.localdate()
    return {
        "by_item": reports.vulnerabilities_by_item(today),
        "by_service": reports.vulnerabilities_by_service(today),
        "past_target": [
            {
                "item": v.item.name,
                "cve": v.cve,
                "severity": v.severity,
                "first_seen": v.first_seen.isoformat(),
                "patch_due": v.patch_due.isoformat(),
                "days_over": (today - v.patch_due).days,
            }
            for v in reports.past_patch_target(today)[:1000]
        ],
    }


class YearParam(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="defaults to this year")


class BudgetLineOut(Schema):
    scope: str
    key: str
    name: str
    yearly_cost: str
    replacements: str
    forecast: str
    budget: str | None
    variance: str | None


@router.get(
    "/cmdb/reports/budget",
    response=list[BudgetLineOut],
    summary="Yearly cost and forecast against budget",
)
def budget(request: HttpRequest, params: Query[YearParam]) -> list[dict[str, Any]]:
    _viewer(request)
    return [
        line.as_dict() for line in reports.budget_report(params.year or timezone.localdate().year)
    ]
