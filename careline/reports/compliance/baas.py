"""Business Associate Agreements: every vendor that handles patient information, and
whether a signed BAA covers it today."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.db.models import Count
from django.utils import timezone

from careline.cmdb.choices import BaaStatus, ItemStatus, ItemType
from careline.cmdb.models import Baa, ServiceComponent, Vendor
from careline.cmdb.services.vendors import active_baa_q
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.reports.compliance.tables import Column, Report, Row, Table, list_fetch, plural
from careline.servicedesk.models import Ticket

# A BAA ending within this many days is "expiring": time to renew it before it lapses.
BAA_EXPIRING_DAYS = 30
# Item kinds that hold or carry patient records; a vendor supplying one to a clinical
# service handles PHI. (Switches and printers move it without keeping it: HIPAA's conduit.)
PHI_ITEM_TYPES = frozenset(
    {
        ItemType.APPLICATION,
        ItemType.DATABASE,
        ItemType.INTERFACE,
        ItemType.CLOUD_SERVICE,
        ItemType.MEDICAL_DEVICE,
    }
)

BAA_COLUMNS = [
    Column("vendor", "Vendor"),
    Column("handles_phi", "Handles PHI because"),
    Column("baa_status", "BAA status"),
    Column("signed_on", "Signed"),
    Column("expires_on", "Expires"),
    Column("days_left", "Days left"),
    Column("breach_notice_days", "Breach notice (days)"),
    Column("subcontractors", "Subcontractors"),
]
# Most urgent first.
BAA_STATES = ["missing", "expired", "terminated", "draft", "not yet in force", "expiring", "active"]


def _phi_reasons() -> dict[int, list[str]]:
    """Why each vendor is taken to handle PHI: a BAA on record, a ticket holding PHI handed
    to it, or an item holding patient records it supplies to a clinical service."""
    reasons: dict[int, list[str]] = {}
    for vendor_id in Baa.objects.values_list("vendor_id", flat=True).distinct():
        reasons.setdefault(vendor_id, []).append("BAA on record")
    handed = (
        Ticket.objects.filter(phi_flagged=True, vendor__isnull=False)
        .values("vendor_id")
        .annotate(n=Count("id"))
    )
    for row in handed:
        reasons.setdefault(row["vendor_id"], []).append(
            f"handed {plural(row['n'], 'ticket')} holding PHI"
        )
    supplied = (
        ServiceComponent.objects.filter(
            item__vendor__isnull=False, item__item_type__in=PHI_ITEM_TYPES
        )
        .exclude(item__status=ItemStatus.RETIRED)
        .values_list("item__vendor_id", "item__name")
        .order_by("item__name")
        .distinct()
    )
    items: dict[int, list[str]] = {}
    for vendor_id, name in supplied:
        items.setdefault(vendor_id, []).append(name)
    for vendor_id, names in items.items():
        reasons.setdefault(vendor_id, []).append(f"supplies {', '.join(names)}")
    return reasons


def _current_baa(baas: Sequence[Baa], in_force_ids: set[int]) -> Baa | None:
    """The agreement in force today (the one lasting longest), else the latest one."""
    in_force = [b for b in baas if b.pk in in_force_ids]
    if in_force:
        return max(in_force, key=lambda b: b.expires_on or date.max)
    return max(baas, key=lambda b: (b.signed_on or date.min, b.pk), default=None)


def _baa_state(baa: Baa | None, in_force: bool, today: date) -> str:
    if baa is None:
        return "missing"
    if in_force:
        expiring = baa.expires_on and (baa.expires_on - today).days <= BAA_EXPIRING_DAYS
        return "expiring" if expiring else "active"
    if baa.status == BaaStatus.ACTIVE:
        # Marked active, but past its end or signed with a date still to come.
        return "expired" if baa.expires_on and baa.expires_on < today else "not yet in force"
    return str(baa.status)


def _baa_row(
    vendor: Vendor, reasons: list[str], baa: Baa | None, in_force: set[int], today: date
) -> Row:
    expires = baa.expires_on if baa else None
    return [
        vendor.name,
        "; ".join(reasons),
        _baa_state(baa, baa is not None and baa.pk in in_force, today),
        baa.signed_on if baa else None,
        expires,
        (expires - today).days if expires else None,
        baa.breach_notification_days if baa else None,
        ", ".join(baa.subcontractors) if baa and baa.subcontractors else None,
    ]


def baa_status(actor: User, *, problems: bool = False) -> Report:
    require(actor, Perm.COMPLIANCE_VIEW)
    today = timezone.localdate()
    reasons = _phi_reasons()
    # The CMDB's own rule for "in force" (the one that lets a ticket go to a vendor).
    in_force_ids = set(Baa.objects.filter(active_baa_q(today)).values_list("pk", flat=True))
    vendors = Vendor.objects.filter(pk__in=reasons).prefetch_related("baas").order_by("name")
    rows = [
        _baa_row(
            v, reasons[v.pk], _current_baa(list(v.baas.all()), in_force_ids), in_force_ids, today
        )
        for v in vendors
    ]
    rows.sort(key=lambda r: BAA_STATES.index(r[2]))  # stable: by name within a state
    states = [r[2] for r in rows]
    if problems:
        rows = [r for r in rows if r[2] != "active"]
    in_force = states.count("active") + states.count("expiring")
    return Report(
        name="baa-status",
        title="Business Associate Agreements",
        lead="Every vendor that handles patient information, and whether a signed BAA covers "
        f"it today. Expiring: ends within {BAA_EXPIRING_DAYS} days. A vendor without one in "
        "force may not be handed tickets holding PHI.",
        filters={},
        summary=[
            f"{plural(len(states), 'vendor')} handling PHI",
            f"{in_force} with a BAA in force",
            f"{states.count('expiring')} expiring within {BAA_EXPIRING_DAYS} days",
            f"{len(states) - in_force} without a BAA in force",
        ],
        tables=[Table("vendors", "Vendors handling PHI", BAA_COLUMNS, len(rows), list_fetch(rows))],
    )
