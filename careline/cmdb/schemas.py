from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from ninja import Field
from pydantic import StringConstraints

from careline.cmdb.choices import (
    BaaStatus,
    BudgetScope,
    ItemStatus,
    ItemType,
    RelationKind,
    Reliance,
    SupportStatus,
)
from careline.cmdb.models import ConfigItem
from careline.cmdb.services.items import risk_state
from careline.core.schemas import InSchema

# Every CMDB body and filter refuses text holding a NUL character, naming the field.
Schema = InSchema


Text100 = Annotated[str, StringConstraints(max_length=100)]
Text200 = Annotated[str, StringConstraints(max_length=200)]
Money = Annotated[Decimal, Field(ge=0, lt=Decimal("1e10"), max_digits=12, decimal_places=2)]


class ItemFields(Schema):
    """Every field is optional on a change; `name` and `item_type` are required to create."""

    name: Text200 | None = None
    item_type: ItemType | None = None
    status: ItemStatus | None = None
    description: str | None = Field(None, max_length=5000)
    site: str | None = Field(None, max_length=32, description="site code")
    department: str | None = Field(None, max_length=32, description="department code")
    room: Text100 | None = None
    owner_team: Text100 | None = None
    ip_address: str | None = Field(None, max_length=45)
    hostname: str | None = Field(None, max_length=253)
    network_segment: Text100 | None = None
    manufacturer: Text100 | None = None
    model: Text100 | None = None
    serial: Text100 | None = None
    os_name: Text100 | None = None
    os_version: str | None = Field(None, max_length=50)
    os_end_of_life: date | None = None
    vendor: str | None = Field(None, max_length=200, description="vendor name")
    purchase_date: date | None = None
    purchase_cost: Money | None = None
    yearly_cost: Money | None = None
    warranty_end: date | None = None
    end_of_life: date | None = None
    replacement_due: date | None = None
    replacement_cost: Money | None = None
    support_status: SupportStatus | None = None
    compensating_controls: str | None = Field(None, max_length=5000)
    udi_device_identifier: Text100 | None = Field(None, description="UDI device identifier (DI)")
    udi_production_identifier: Text100 | None = Field(
        None, description="UDI production identifier (PI): lot, serial, dates"
    )
    mds2_on_file: bool | None = None
    clinical_engineering_owner: str | None = Field(None, max_length=150)
    it_owner: str | None = Field(None, max_length=150)


class ItemOut(Schema):
    id: int
    name: str
    item_type: ItemType
    status: ItemStatus
    description: str
    site: str | None = Field(None, alias="site.code")
    department: str | None = Field(None, alias="department.code")
    room: str
    owner_team: str
    ip_address: str | None
    hostname: str
    network_segment: str
    manufacturer: str
    model: str
    serial: str
    os_name: str
    os_version: str
    os_end_of_life: date | None
    vendor: str | None = Field(None, alias="vendor.name")
    purchase_date: date | None
    purchase_cost: Decimal | None
    yearly_cost: Decimal | None
    warranty_end: date | None
    end_of_life: date | None
    replacement_due: date | None
    replacement_cost: Decimal | None
    support_status: SupportStatus
    compensating_controls: str
    risk_acceptance_reason: str
    risk_accepted_by: str | None = Field(None, alias="risk_accepted_by.username")
    risk_acceptance_expires: date | None
    risk_state: str
    udi_device_identifier: str
    udi_production_identifier: str
    mds2_on_file: bool
    clinical_engineering_owner: str
    it_owner: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_risk_state(obj: ConfigItem) -> str:
        return risk_state(obj)


class RiskAcceptanceIn(Schema):
    reason: str = Field(max_length=2000)
    expires: date


class RelationshipIn(Schema):
    source: int = Field(description="id of the item that depends on, runs on or connects to")
    target: int = Field(description="id of the item it depends on, runs on or connects to")
    kind: RelationKind


class RelationshipOut(Schema):
    id: int
    source: int = Field(alias="source_id")
    source_name: str = Field(alias="source.name")
    target: int = Field(alias="target_id")
    target_name: str = Field(alias="target.name")
    kind: RelationKind


class ComponentIn(Schema):
    service: str = Field(max_length=32, description="clinical service code")
    item: int
    redundant: bool = False


class ComponentOut(Schema):
    id: int
    service: str = Field(alias="service.code")
    item: int = Field(alias="item_id")
    item_name: str = Field(alias="item.name")
    redundant: bool


class RelianceIn(Schema):
    department: str = Field(max_length=32)
    service: str = Field(max_length=32)
    criticality: Reliance


class RelianceOut(Schema):
    id: int
    department: str = Field(alias="department.code")
    service: str = Field(alias="service.code")
    criticality: Reliance


class AffectedServiceOut(Schema):
    code: str
    name: str
    tier: int
    state: str


class AffectedDepartmentOut(Schema):
    code: str
    name: str
    site: str
    clinical_area: str
    critical: bool
    care_effect: str
    services: list[str]


class ClinicalAreaOut(Schema):
    area: str
    critical: bool
    care_effect: str
    departments: list[str]


class ImpactOut(Schema):
    item_id: int
    item_name: str
    item_count: int = Field(description="the failed item and every item affected through it")
    services: list[AffectedServiceOut]
    departments: list[AffectedDepartmentOut]
    clinical_areas: list[ClinicalAreaOut]
    care_effect: str = Field(description="blocked, degraded or none")
    scope: str = Field(description="person, department, site or enterprise")
    explanation: str


class VendorIn(Schema):
    name: Text200 | None = None
    website: str | None = Field(None, max_length=300)
    support_phone: str | None = Field(None, max_length=50)
    support_email: str | None = Field(None, max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+$")
    support_portal: str | None = Field(None, max_length=300)
    account_number: Text100 | None = None
    notes: str | None = Field(None, max_length=5000)


class ContactIn(Schema):
    name: str = Field(max_length=150)
    role: Text100 = ""
    phone: str = Field("", max_length=50)
    email: str = Field("", max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+$")
    escalation_level: int = Field(1, ge=1, le=9)


class ContactOut(Schema):
    id: int
    name: str
    role: str
    phone: str
    email: str
    escalation_level: int


class VendorOut(Schema):
    id: int
    name: str
    website: str
    support_phone: str
    support_email: str
    support_portal: str
    account_number: str
    notes: str
    contacts: list[ContactOut]


class ContractIn(Schema):
    vendor: int | None = None
    reference: Text100 | None = None
    coverage: str | None = Field(None, max_length=5000)
    sla: str | None = Field(None, max_length=300)
    starts_on: date | None = None
    ends_on: date | None = None
    yearly_cost: Money | None = None
    renewal_notice_days: int | None = Field(None, ge=0, le=730)
    items: list[int] | None = Field(None, description="ids of the items it covers")


class ContractOut(Schema):
    id: int
    vendor: int = Field(alias="vendor_id")
    reference: str
    coverage: str
    sla: str
    starts_on: date
    ends_on: date
    yearly_cost: Decimal
    renewal_notice_days: int
    items: list[int]

    @staticmethod
    def resolve_items(obj: object) -> list[int]:
        return sorted(i.pk for i in obj.items.all())  # type: ignore[attr-defined]


class BaaIn(Schema):
    vendor: int | None = None
    status: BaaStatus | None = None
    signed_on: date | None = None
    expires_on: date | None = None
    breach_notification_days: int | None = Field(None, ge=1, le=365)
    subcontractors: list[Annotated[str, StringConstraints(max_length=200)]] | None = None


class BaaOut(Schema):
    id: int
    vendor: int = Field(alias="vendor_id")
    status: BaaStatus
    signed_on: date | None
    expires_on: date | None
    breach_notification_days: int
    subcontractors: list[str]


class BudgetIn(Schema):
    year: int = Field(ge=2000, le=2100)
    scope: BudgetScope
    target: str = Field(max_length=200, description="service or department code, or vendor id")
    amount: Money


class ImportOut(Schema):
    created: int
    updated: int
    relationships: int
    components: int


class ScanOut(Schema):
    opened: int
    fixed: int
