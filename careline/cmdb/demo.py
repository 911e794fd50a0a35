"""The demo hospital's CMDB: the EHR on its database cluster and virtual machines, PACS with
its DICOM feeds, the lab interface engine, barcode scanners, infusion pumps, the core network,
and the vendors behind them with their contracts and BAAs.

Idempotent: items, vendors and links that already exist are left alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from careline.cmdb.models import (
    Baa,
    ConfigItem,
    Contract,
    DepartmentReliance,
    Relationship,
    ServiceComponent,
    Vendor,
)
from careline.cmdb.services import items, vendors
from careline.core.models import ClinicalService, Department

VENDORS: list[dict[str, Any]] = [
    {
        "name": "Meridian Health Systems",
        "support_phone": "+1 800 555 0101",
        "support_email": "support@meridian-health.example",
        "support_portal": "https://support.meridian-health.example",
    },
    {
        "name": "Clearview Imaging",
        "support_phone": "+1 800 555 0102",
        "support_email": "help@clearview-imaging.example",
    },
    {
        "name": "LabLink Integration",
        "support_phone": "+1 800 555 0103",
        "support_email": "noc@lablink.example",
    },
    {
        "name": "Infusia Medical",
        "support_phone": "+1 800 555 0104",
        "support_email": "service@infusia.example",
    },
    {
        "name": "NetCore Networks",
        "support_phone": "+1 800 555 0105",
        "support_email": "tac@netcore.example",
    },
]

# name, type, department, extra fields
ITEMS: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "NG-CORE-SW1",
        "network_device",
        "NG-IT",
        {
            "manufacturer": "NetCore",
            "model": "C9600",
            "ip_address": "10.0.0.1",
            "hostname": "ng-core-sw1",
            "network_segment": "core",
            "vendor": "NetCore Networks",
        },
    ),
    (
        "NG-CORE-SW2",
        "network_device",
        "NG-IT",
        {
            "manufacturer": "NetCore",
            "model": "C9600",
            "ip_address": "10.0.0.2",
            "hostname": "ng-core-sw2",
            "network_segment": "core",
            "vendor": "NetCore Networks",
        },
    ),
    (
        "NG-WLC-01",
        "network_device",
        "NG-IT",
        {
            "manufacturer": "NetCore",
            "model": "WLC 9800",
            "ip_address": "10.0.0.10",
            "hostname": "ng-wlc-01",
            "network_segment": "wireless",
        },
    ),
    (
        "NG-ESX-01",
        "server",
        "NG-IT",
        {
            "manufacturer": "Dell",
            "model": "R750",
            "hostname": "ng-esx-01",
            "ip_address": "10.1.0.11",
            "warranty_end": 60,
            "replacement_due": 400,
            "replacement_cost": "18000",
        },
    ),
    (
        "NG-ESX-02",
        "server",
        "NG-IT",
        {
            "manufacturer": "Dell",
            "model": "R750",
            "hostname": "ng-esx-02",
            "ip_address": "10.1.0.12",
            "warranty_end": 60,
            "replacement_due": 400,
            "replacement_cost": "18000",
        },
    ),
    (
        "EHR-APP-VM1",
        "virtual_machine",
        "NG-IT",
        {
            "hostname": "ehr-app-01",
            "ip_address": "10.2.0.21",
            "os_name": "Windows Server",
            "os_version": "2019",
        },
    ),
    (
        "EHR-APP-VM2",
        "virtual_machine",
        "NG-IT",
        {
            "hostname": "ehr-app-02",
            "ip_address": "10.2.0.22",
            "os_name": "Windows Server",
            "os_version": "2019",
        },
    ),
    (
        "EHR-DB-N1",
        "virtual_machine",
        "NG-IT",
        {
            "hostname": "ehr-db-01",
            "ip_address": "10.2.0.31",
            "os_name": "Red Hat Enterprise Linux",
            "os_version": "8",
        },
    ),
    (
        "EHR-DB-N2",
        "virtual_machine",
        "NG-IT",
        {
            "hostname": "ehr-db-02",
            "ip_address": "10.2.0.32",
            "os_name": "Red Hat Enterprise Linux",
            "os_version": "8",
        },
    ),
    ("EHR-DB", "database", "NG-IT", {"description": "The EHR's clustered database (two nodes)."}),
    (
        "EHR",
        "application",
        "NG-IT",
        {
            "vendor": "Meridian Health Systems",
            "owner_team": "Clinical applications",
            "yearly_cost": "250000",
        },
    ),
    (
        "PACS-SRV-01",
        "server",
        "NG-RAD",
        {
            "hostname": "pacs-01",
            "ip_address": "10.3.0.5",
            "os_name": "Windows Server",
            "os_version": "2012 R2",
            "os_end_of_life": -400,
            "vendor": "Clearview Imaging",
        },
    ),
    (
        "PACS",
        "application",
        "NG-RAD",
        {"vendor": "Clearview Imaging", "owner_team": "Imaging informatics"},
    ),
    (
        "CT-1 scanner",
        "medical_device",
        "NG-RAD",
        {
            "manufacturer": "Clearview",
            "model": "CT 128",
            "udi_device_identifier": "00812345000012",
            "udi_production_identifier": "(21)CT128-0042",
            "mds2_on_file": True,
            "clinical_engineering_owner": "Biomedical engineering",
            "it_owner": "Imaging informatics",
        },
    ),
    (
        "DICOM CT-1 to PACS",
        "interface",
        "NG-RAD",
        {"description": "DICOM C-STORE from CT-1 to the PACS archive."},
    ),
    (
        "Lab interface engine",
        "application",
        "NG-LAB",
        {"vendor": "LabLink Integration", "hostname": "lab-ie-01", "ip_address": "10.4.0.7"},
    ),
    (
        "HL7 orders EHR to LIS",
        "interface",
        "NG-LAB",
        {"description": "HL7 v2 ORM orders over MLLP."},
    ),
    ("LIS", "application", "NG-LAB", {}),
    ("ED barcode scanner 1", "peripheral", "NG-ED", {"manufacturer": "ScanCo", "model": "DS8178"}),
    (
        "ICU barcode scanner 1",
        "peripheral",
        "NG-ICU",
        {"manufacturer": "ScanCo", "model": "DS8178"},
    ),
    (
        "ICU infusion pump 7",
        "medical_device",
        "NG-ICU",
        {
            "manufacturer": "Infusia",
            "model": "Volumat 5",
            "vendor": "Infusia Medical",
            "support_status": "constrained",
            "compensating_controls": "Own VLAN with no internet route; only the drug-library server may reach it.",
            "udi_device_identifier": "00898765000034",
            "udi_production_identifier": "(21)VP5-1177",
            "mds2_on_file": True,
            "clinical_engineering_owner": "Biomedical engineering",
            "it_owner": "Network team",
            "network_segment": "medical-devices",
            "end_of_life": 500,
            "replacement_cost": "4200",
        },
    ),
    (
        "ED workstation 3",
        "workstation",
        "NG-ED",
        {"hostname": "ng-ed-ws03", "os_name": "Windows", "os_version": "10", "os_end_of_life": -30},
    ),
]

RELATIONSHIPS = [
    ("EHR-DB", "runs_on", "EHR-DB-N1"),
    ("EHR-DB", "runs_on", "EHR-DB-N2"),
    ("EHR-DB-N1", "runs_on", "NG-ESX-01"),
    ("EHR-DB-N2", "runs_on", "NG-ESX-02"),
    ("EHR", "depends_on", "EHR-DB"),
    ("EHR-APP-VM1", "runs_on", "NG-ESX-01"),
    ("EHR-APP-VM2", "runs_on", "NG-ESX-02"),
    ("PACS", "runs_on", "PACS-SRV-01"),
    ("DICOM CT-1 to PACS", "connects_to", "PACS"),
    ("CT-1 scanner", "depends_on", "DICOM CT-1 to PACS"),
    ("HL7 orders EHR to LIS", "depends_on", "Lab interface engine"),
    ("LIS", "depends_on", "HL7 orders EHR to LIS"),
    ("ED barcode scanner 1", "connects_to", "NG-WLC-01"),
    ("ICU barcode scanner 1", "connects_to", "NG-WLC-01"),
    ("ICU infusion pump 7", "connects_to", "NG-WLC-01"),
]

# service, item, redundant
COMPONENTS = [
    ("EHR", "EHR", False),
    ("EHR", "EHR-APP-VM1", True),
    ("EHR", "EHR-APP-VM2", True),
    ("EHR", "NG-CORE-SW1", True),
    ("EHR", "NG-CORE-SW2", True),
    ("PACS", "PACS", False),
    ("PACS", "DICOM CT-1 to PACS", False),
    ("LIS", "LIS", False),
    ("BCMA", "ED barcode scanner 1", True),
    ("BCMA", "ICU barcode scanner 1", True),
    ("BCMA", "EHR", False),
    ("WIFI", "NG-WLC-01", False),
    ("WIFI", "NG-CORE-SW1", True),
    ("WIFI", "NG-CORE-SW2", True),
]

RELIANCES = [
    ("NG-ED", "EHR", "essential"),
    ("NG-ED", "LIS", "essential"),
    ("NG-ED", "PACS", "workaround"),
    ("NG-ED", "BCMA", "workaround"),
    ("NG-ICU", "EHR", "essential"),
    ("NG-ICU", "BCMA", "essential"),
    ("NG-ICU", "LIS", "essential"),
    ("NG-ICU", "WIFI", "essential"),
    ("NG-OR", "EHR", "essential"),
    ("NG-OR", "PACS", "essential"),
    ("NG-PHARM", "EHR", "essential"),
    ("NG-LAB", "LIS", "essential"),
    ("NG-RAD", "PACS", "essential"),
    ("NG-W4", "EHR", "workaround"),
    ("NG-W4", "BCMA", "essential"),
    ("NG-OPD", "EHR", "workaround"),
    ("RV-ED", "EHR", "essential"),
    ("RV-RAD", "PACS", "essential"),
]


def _dated(values: dict[str, Any]) -> dict[str, Any]:
    """Whole numbers for dates are days from today, so the demo's reports stay current."""
    today = timezone.localdate()
    date_fields = ("warranty_end", "replacement_due", "os_end_of_life", "end_of_life")
    return {
        k: (today + timedelta(days=v)).isoformat() if k in date_fields and isinstance(v, int) else v
        for k, v in values.items()
    }


def load() -> None:
    if not Department.objects.filter(code="NG-ED").exists():
        return  # the core demo hospital is not there to link to
    today = timezone.localdate()
    with transaction.atomic():
        for values in VENDORS:
            if not Vendor.objects.filter(name=values["name"]).exists():
                vendors.save_vendor(None, dict(values))
        vendor = {v.name: v for v in Vendor.objects.all()}
        for name, item_type, department, extra in ITEMS:
            if not ConfigItem.objects.filter(name=name).exists():
                items.create_item(
                    None,
                    {
                        "name": name,
                        "item_type": item_type,
                        "department": department,
                        **_dated(extra),
                    },
                )
        ids = dict(ConfigItem.objects.values_list("name", "pk"))
        for source, kind, target in RELATIONSHIPS:
            if not Relationship.objects.filter(
                source_id=ids[source], target_id=ids[target], kind=kind
            ).exists():
                items.create_relationship(None, ids[source], ids[target], kind)
        services = set(ClinicalService.objects.values_list("code", flat=True))
        for service, name, redundant in COMPONENTS:
            if (
                service in services
                and not ServiceComponent.objects.filter(
                    service__code=service, item_id=ids[name]
                ).exists()
            ):
                items.add_component(None, service, ids[name], redundant=redundant)
        for department, service, criticality in RELIANCES:
            if (
                service in services
                and not DepartmentReliance.objects.filter(
                    department__code=department, service__code=service
                ).exists()
            ):
                items.set_reliance(None, department, service, criticality)
        pump = ConfigItem.objects.get(pk=ids["ICU infusion pump 7"])
        if pump.risk_acceptance_expires is None:
            pump.risk_acceptance_reason = (
                "Vendor forbids OS patches; replacement fleet funded next year."
            )
            pump.risk_acceptance_expires = today + timedelta(days=180)
            pump.risk_accepted_at = timezone.now()
            pump.save()
        _contracts_and_baas(vendor, ids, today)


def _contracts_and_baas(vendor: dict[str, Vendor], ids: dict[str, int], today: Any) -> None:
    contracts = [
        (
            "MHS-2024-01",
            "Meridian Health Systems",
            "EHR licences and 24/7 support",
            "1-hour response for P1, 24/7",
            -400,
            700,
            "310000",
            ["EHR"],
        ),
        (
            "CVI-PACS-7",
            "Clearview Imaging",
            "PACS software and CT-1 service",
            "4-hour on-site",
            -300,
            45,
            "85000",
            ["PACS", "PACS-SRV-01", "CT-1 scanner"],
        ),
        (
            "NCN-SMARTNET",
            "NetCore Networks",
            "Core and wireless hardware replacement",
            "next business day",
            -200,
            165,
            "42000",
            ["NG-CORE-SW1", "NG-CORE-SW2", "NG-WLC-01"],
        ),
        (
            "INF-PUMPS-22",
            "Infusia Medical",
            "Infusion pump fleet maintenance",
            "5 business days",
            -500,
            230,
            "60000",
            ["ICU infusion pump 7"],
        ),
    ]
    for reference, name, coverage, sla, start, end, cost, covered in contracts:
        if not Contract.objects.filter(reference=reference).exists():
            vendors.save_contract(
                None,
                {
                    "vendor": vendor[name].pk,
                    "reference": reference,
                    "coverage": coverage,
                    "sla": sla,
                    "starts_on": today + timedelta(days=start),
                    "ends_on": today + timedelta(days=end),
                    "yearly_cost": cost,
                    "renewal_notice_days": 90,
                    "items": [ids[i] for i in covered],
                },
            )
    baas = [
        ("Meridian Health Systems", "active", -700, 400, 30, ["Cloudhost Hosting"]),
        ("Clearview Imaging", "active", -600, 45, 60, []),
        ("LabLink Integration", "expired", -1200, -20, 60, []),
    ]
    for name, status, signed, expires, window, subs in baas:
        if not Baa.objects.filter(vendor=vendor[name]).exists():
            vendors.save_baa(
                None,
                {
                    "vendor": vendor[name].pk,
                    "status": status,
                    "signed_on": today + timedelta(days=signed),
                    "expires_on": today + timedelta(days=expires),
                    "breach_notification_days": window,
                    "subcontractors": subs,
                },
            )
