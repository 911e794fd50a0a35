"""Turning what people type (API bodies, CSV cells) into an item's field values.

One cleaner for both, so a date that does not parse or an unknown type is refused with the
same sentence naming the same field, whether it came from the API or line 4,812 of a CSV.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from careline.cmdb.choices import ItemStatus, ItemType, SupportStatus
from careline.cmdb.models import Vendor
from careline.core.errors import InvalidInput
from careline.core.models import Department, Site

# The item's editable fields, in the order of the CSV file's columns.
ITEM_FIELDS = [
    "name",
    "item_type",
    "status",
    "site",
    "department",
    "room",
    "owner_team",
    "ip_address",
    "hostname",
    "network_segment",
    "manufacturer",
    "model",
    "serial",
    "os_name",
    "os_version",
    "os_end_of_life",
    "vendor",
    "purchase_date",
    "purchase_cost",
    "yearly_cost",
    "warranty_end",
    "end_of_life",
    "replacement_due",
    "replacement_cost",
    "support_status",
    "compensating_controls",
    "udi_device_identifier",
    "udi_production_identifier",
    "mds2_on_file",
    "clinical_engineering_owner",
    "it_owner",
    "description",
]

_TEXT_LIMITS = {
    "name": 200,
    "room": 100,
    "owner_team": 100,
    "hostname": 253,
    "network_segment": 100,
    "manufacturer": 100,
    "model": 100,
    "serial": 100,
    "os_name": 100,
    "os_version": 50,
    "udi_device_identifier": 100,
    "udi_production_identifier": 100,
    "clinical_engineering_owner": 150,
    "it_owner": 150,
    "compensating_controls": 5000,
    "description": 5000,
}
_LONG_TEXT = {"description", "compensating_controls"}
_DATES = {"os_end_of_life", "purchase_date", "warranty_end", "end_of_life", "replacement_due"}
_MONEY = {"purchase_cost", "yearly_cost", "replacement_cost"}
_CHOICES: dict[str, Any] = {
    "item_type": ItemType,
    "status": ItemStatus,
    "support_status": SupportStatus,
}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}


def parse_date(value: Any, field_name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"must be a date as YYYY-MM-DD (got {text[:40]!r})", field=field_name
        ) from None


def parse_money(value: Any, field_name: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(
            f"must be an amount such as 1250.00 (got {str(value)[:40]!r})", field=field_name
        ) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise InvalidInput(
            f"must be an amount from 0 to 9,999,999,999.99 (got {str(value)[:40]!r})",
            field=field_name,
        )
    return amount.quantize(Decimal("0.01"))


# The allowed values as sets: `choices.values` builds a new list on every call, which a
# 50,000-row import would pay 100,000 times.
_ALLOWED = {name: frozenset(choices.values) for name, choices in _CHOICES.items()}


def _choice(value: Any, choices: Any, field_name: str) -> str:
    text = str(value).strip()
    if text not in _ALLOWED[field_name]:
        raise InvalidInput(
            f"must be one of {', '.join(choices.values)} (got {text[:40]!r})", field=field_name
        )
    return text


def _bool(value: Any, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"must be true or false (got {str(value)[:20]!r})", field=field_name)


def _ip(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidInput(
            f"must be an IPv4 or IPv6 address (got {text[:45]!r})", field="ip_address"
        ) from None


@dataclass
class Lookups:
    """Sites and departments by code, vendors by name: read once per import or request."""

    sites: dict[str, Site] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    vendors: dict[str, Vendor] = field(default_factory=dict)
    loaded: bool = False

    def load(self) -> Lookups:
        if not self.loaded:
            self.sites = {s.code: s for s in Site.objects.all()}
            self.departments = {d.code: d for d in Department.objects.select_related("site")}
            self.vendors = {v.name: v for v in Vendor.objects.all()}
            self.loaded = True
        return self


def _related(value: Any, table: dict[str, Any], field_name: str, noun: str) -> Any:
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        return table[text]
    except KeyError:
        raise InvalidInput(f"no {noun} {text[:60]!r}", field=field_name) from None


def clean_value(name: str, value: Any, lookups: Lookups) -> Any:
    """One field's value, cleaned; InvalidInput naming the field when it is not acceptable."""
    if name in _CHOICES:
        return _choice(value, _CHOICES[name], name)
    if name in _DATES:
        return parse_date(value, name)
    if name in _MONEY:
        return parse_money(value, name)
    if name == "mds2_on_file":
        return _bool(value, name)
    if name == "ip_address":
        return _ip(value)
    if name == "site":
        return _related(value, lookups.load().sites, name, "site has code")
    if name == "department":
        return _related(value, lookups.load().departments, name, "department has code")
    if name == "vendor":
        return _related(value, lookups.load().vendors, name, "vendor is named")
    if name in _TEXT_LIMITS:
        raw = "" if value is None else str(value)
        text = raw.strip() if name in _LONG_TEXT else " ".join(raw.split())
        if name == "name" and not text:
            raise InvalidInput("must not be empty", field="name")
        if len(text) > _TEXT_LIMITS[name]:
            raise InvalidInput(
                f"must be at most {_TEXT_LIMITS[name]} characters (got {len(text)})", field=name
            )
        return text
    raise InvalidInput(
        f"is not a field of a configuration item (fields: {', '.join(ITEM_FIELDS)})", field=name
    )


def clean_item(values: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    """Every given field cleaned, then the rules that span fields."""
    return {name: clean_value(name, value, lookups) for name, value in values.items()}


def check_item(values: dict[str, Any]) -> None:
    """Rules across fields, on the item's values after a change; fills the site from the
    department when only the department is given."""
    department = values.get("department")
    site = values.get("site")
    if department is not None and site is None:
        values["site"] = site = department.site
    if department is not None and site is not None and department.site_id != site.pk:
        raise InvalidInput(
            f"department {department.code} is at site {department.site.code}, not {site.code}",
            field="department",
        )
    if values.get("support_status") == SupportStatus.CONSTRAINED and not values.get(
        "compensating_controls"
    ):
        raise InvalidInput(
            "a constrained item needs its compensating controls described",
            field="compensating_controls",
        )
    purchase, warranty = values.get("purchase_date"), values.get("warranty_end")
    if purchase and warranty and warranty < purchase:
        raise InvalidInput(
            f"ends before the purchase date ({purchase.isoformat()})", field="warranty_end"
        )
    if values.get("udi_production_identifier") and not values.get("udi_device_identifier"):
        raise InvalidInput(
            "a UDI production identifier needs its device identifier",
            field="udi_device_identifier",
        )
