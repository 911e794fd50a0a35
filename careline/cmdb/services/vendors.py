"""Vendors, their contacts, contracts and Business Associate Agreements, and budgets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, Q
from django.utils import timezone

from careline.cmdb.choices import BaaStatus, BudgetScope
from careline.cmdb.models import Baa, Budget, ConfigItem, Contract, Vendor, VendorContact
from careline.cmdb.services.fields import parse_date, parse_money
from careline.core import audit
from careline.core.errors import Conflict, InvalidInput, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.core.services import clean_name, department_by_code, service_by_code

M = TypeVar("M", bound=Model)

VENDOR_FIELDS = [
    "name",
    "website",
    "support_phone",
    "support_email",
    "support_portal",
    "account_number",
    "notes",
]
CONTRACT_FIELDS = [
    "vendor_id",
    "reference",
    "coverage",
    "sla",
    "starts_on",
    "ends_on",
    "yearly_cost",
    "renewal_notice_days",
]
BAA_FIELDS = [
    "vendor_id",
    "status",
    "signed_on",
    "expires_on",
    "breach_notification_days",
    "subcontractors",
]


def get_vendor(vendor_id: int, field: str = "id") -> Vendor:
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None:
        raise NotFound(f"no vendor has id {vendor_id}", field=field)
    return vendor


def _vendor_ref(vendor_id: int) -> Vendor:
    vendor = Vendor.objects.filter(pk=vendor_id).first()
    if vendor is None:
        raise InvalidInput(f"no vendor has id {vendor_id}", field="vendor")
    return vendor


def save_vendor(actor: User | None, values: dict[str, Any], vendor_id: int | None = None) -> Vendor:
    """Create a vendor (no id) or change one."""
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    unknown = set(values) - set(VENDOR_FIELDS)
    if unknown:
        raise InvalidInput("is not a field of a vendor", field=sorted(unknown)[0])
    if "name" in values or vendor_id is None:
        values["name"] = clean_name(str(values.get("name") or ""))
    try:
        with transaction.atomic():
            vendor = Vendor() if vendor_id is None else get_vendor(vendor_id)
            before = None if vendor_id is None else audit.snapshot(vendor, VENDOR_FIELDS)
            for name, value in values.items():
                # Every vendor field is text: a change's explicit null empties an optional one.
                setattr(vendor, name, (value or "").strip())
            vendor.save()
            audit.record(
                "vendor.create" if vendor_id is None else "vendor.update",
                actor=actor,
                obj=vendor,
                summary=f"Vendor {vendor.name} {'created' if vendor_id is None else 'changed'}",
                before=before,
                after=audit.snapshot(vendor, VENDOR_FIELDS),
            )
    except IntegrityError:
        # A new vendor always has its name in `values`; a change may leave it out.
        name = values.get("name", vendor.name)
        raise Conflict(f"a vendor named {name!r} already exists", field="name") from None
    return vendor


def add_contact(actor: User | None, vendor_id: int, values: dict[str, Any]) -> VendorContact:
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    vendor = get_vendor(vendor_id)
    contact = VendorContact(
        vendor=vendor,
        name=clean_name(str(values.get("name") or ""), max_length=150),
        role=str(values.get("role") or "").strip(),
        phone=str(values.get("phone") or "").strip(),
        email=str(values.get("email") or "").strip(),
        escalation_level=int(values.get("escalation_level") or 1),
    )
    with transaction.atomic():
        contact.save()
        audit.record(
            "vendorcontact.create",
            actor=actor,
            obj=contact,
            summary=f"{contact.name} added to {vendor.name} (escalation level {contact.escalation_level})",
        )
    return contact


def _check_dates(starts: date | None, ends: date | None, start_field: str, end_field: str) -> None:
    if starts is not None and ends is not None and ends < starts:
        raise InvalidInput(
            f"must not be before {start_field} ({starts.isoformat()})", field=end_field
        )


def _covered_items(item_ids: list[int]) -> list[ConfigItem]:
    found = {i.pk: i for i in ConfigItem.objects.filter(pk__in=item_ids)}
    missing = [i for i in item_ids if i not in found]
    if missing:
        raise InvalidInput(f"no configuration item has id {missing[0]}", field="items")
    return list(found.values())


def save_contract(
    actor: User | None, values: dict[str, Any], contract_id: int | None = None
) -> Contract:
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    with transaction.atomic():
        contract, before = _new_or_existing(
            Contract,
            contract_id,
            "contract",
            CONTRACT_FIELDS,
            values,
            ("vendor", "reference", "starts_on", "ends_on"),
        )
        if "vendor" in values:
            contract.vendor = _vendor_ref(int(values["vendor"]))
        if "reference" in values:
            contract.reference = clean_name(str(values["reference"]), "reference", 100)
        for name in ("coverage", "sla"):
            if name in values:
                setattr(contract, name, str(values[name] or "").strip())
        for name in ("starts_on", "ends_on"):
            if name in values:
                parsed = parse_date(values[name], name)
                if parsed is None:
                    raise InvalidInput("is required", field=name)
                setattr(contract, name, parsed)
        if "yearly_cost" in values:
            contract.yearly_cost = parse_money(values["yearly_cost"], "yearly_cost") or Decimal(0)
        if "renewal_notice_days" in values:
            contract.renewal_notice_days = _days(values, "renewal_notice_days", 0, 730)
        _check_dates(contract.starts_on, contract.ends_on, "starts_on", "ends_on")
        items = _covered_items(list(values["items"])) if values.get("items") is not None else None
        try:
            with transaction.atomic():
                contract.save()
        except IntegrityError:
            raise Conflict(
                f"a contract with reference {contract.reference!r} already exists",
                field="reference",
            ) from None
        if items is not None:
            contract.items.set(items)
        audit.record(
            "contract.create" if contract_id is None else "contract.update",
            actor=actor,
            obj=contract,
            summary=f"Contract {contract.reference} with {contract.vendor.name} "
            f"{'created' if contract_id is None else 'changed'} (ends {contract.ends_on.isoformat()})",
            before=before,
            after=audit.snapshot(contract, CONTRACT_FIELDS),
        )
    return contract


def _new_or_existing(
    model: type[M],
    pk: int | None,
    noun: str,
    fields: list[str],
    values: dict[str, Any],
    required: tuple[str, ...],
) -> tuple[M, dict[str, Any] | None]:
    """A new row (its required values present) or the stored one with its snapshot before
    the change, for the audit event. A change may leave a required value out, not empty it."""
    for name in required:
        if (pk is None or name in values) and values.get(name) in (None, ""):
            raise InvalidInput("is required", field=name)
    if pk is None:
        return model(), None
    found = model._default_manager.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"no {noun} has id {pk}", field="id")
    return found, audit.snapshot(found, fields)


def _days(values: dict[str, Any], name: str, low: int, high: int) -> int:
    """A number of days within its bounds; a change's explicit null cannot empty it."""
    days = values[name]
    if days is None or not low <= int(days) <= high:
        got = "null" if days is None else days
        raise InvalidInput(f"must be between {low} and {high} (got {got})", field=name)
    return int(days)


def _subcontractors(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput("must be a list of names", field="subcontractors")
    names = [" ".join(v.split()) for v in value if v.strip()]
    if any(len(n) > 200 for n in names):
        raise InvalidInput("each name must be at most 200 characters", field="subcontractors")
    return names


def save_baa(actor: User | None, values: dict[str, Any], baa_id: int | None = None) -> Baa:
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    with transaction.atomic():
        baa, before = _new_or_existing(Baa, baa_id, "BAA", BAA_FIELDS, values, ("vendor",))
        if "vendor" in values:
            baa.vendor = _vendor_ref(int(values["vendor"]))
        if "status" in values:
            if values["status"] not in BaaStatus.values:
                raise InvalidInput(
                    f"must be one of {', '.join(BaaStatus.values)} (got {str(values['status'])[:40]!r})",
                    field="status",
                )
            baa.status = values["status"]
        for name in ("signed_on", "expires_on"):
            if name in values:
                setattr(baa, name, parse_date(values[name], name))
        if "breach_notification_days" in values:
            baa.breach_notification_days = _days(values, "breach_notification_days", 1, 365)
        if "subcontractors" in values:
            baa.subcontractors = _subcontractors(values["subcontractors"])
        _check_dates(baa.signed_on, baa.expires_on, "signed_on", "expires_on")
        if baa.status == BaaStatus.ACTIVE and baa.signed_on is None:
            raise InvalidInput("an active BAA must have its signing date", field="signed_on")
        baa.save()
        audit.record(
            "baa.create" if baa_id is None else "baa.update",
            actor=actor,
            obj=baa,
            summary=f"BAA with {baa.vendor.name} {'recorded' if baa_id is None else 'changed'}: {baa.status}",
            before=before,
            after=audit.snapshot(baa, BAA_FIELDS),
        )
    return baa


def active_baa_q(today: date) -> Q:
    """An agreement in force today: active, signed, and not past its expiry."""
    return Q(status=BaaStatus.ACTIVE, signed_on__lte=today) & (
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )


def has_active_baa(vendor: Vendor, today: date | None = None) -> bool:
    return vendor.baas.filter(active_baa_q(today or timezone.localdate())).exists()


def set_budget(
    actor: User | None, *, year: int, scope: str, target: str | int, amount: Any
) -> Budget:
    """The budget of one service (by code), department (by code) or vendor (by id) for a year."""
    if actor is not None:
        require(actor, Perm.CMDB_MANAGE)
    if scope not in BudgetScope.values:
        raise InvalidInput(
            f"must be one of {', '.join(BudgetScope.values)} (got {str(scope)[:40]!r})",
            field="scope",
        )
    if not 2000 <= year <= 2100:
        raise InvalidInput(f"must be between 2000 and 2100 (got {year})", field="year")
    value = parse_money(amount, "amount")
    if value is None:
        raise InvalidInput("is required", field="amount")
    keys: dict[str, Any] = {"year": year, "scope": scope}
    if scope == BudgetScope.SERVICE:
        keys["service"] = service_by_code(str(target), field="target")
    elif scope == BudgetScope.DEPARTMENT:
        keys["department"] = department_by_code(str(target), field="target")
    else:
        try:
            keys["vendor"] = _vendor_ref(int(target))
        except ValueError:
            raise InvalidInput(
                f"must be a vendor id (got {str(target)[:20]!r})", field="target"
            ) from None
    with transaction.atomic():
        budget, _ = Budget.objects.select_for_update().update_or_create(
            defaults={"amount": value}, **keys
        )
        audit.record(
            "budget.set",
            actor=actor,
            obj=budget,
            summary=f"Budget {year} for {scope} {target}: {value}",
            after={"amount": str(value)},
        )
    return budget


def delete_vendor_record(actor: User, kind: str, record_id: int) -> None:
    """Delete a vendor, contract or BAA. A vendor still named by items, contracts, BAAs or
    tickets is kept (409): remove those first, so no history points at nothing."""
    require(actor, Perm.CMDB_MANAGE)
    models: dict[str, type[Model]] = {"vendor": Vendor, "contract": Contract, "baa": Baa}
    with transaction.atomic():
        record = models[kind]._default_manager.filter(pk=record_id).first()
        if record is None:
            raise NotFound(f"no {kind} has id {record_id}", field="id")
        summary = f"{kind.capitalize()} {record} deleted"
        try:
            with transaction.atomic():
                record.delete()
        except ProtectedError:
            raise Conflict(
                f"{record} is still referred to by items, contracts, BAAs or tickets",
                field="id",
            ) from None
        audit.record(
            f"{kind}.delete",
            actor=actor,
            object_type=f"cmdb.{kind}",
            object_id=str(record_id),
            summary=summary,
        )
