"""The demo hospital's monitors: backups and interface jobs reporting by heartbeat, and the
clinical systems' checks, paused (their hosts exist only in a real hospital) and labelled so."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from careline.core.models import ClinicalService
from careline.monitoring.models import Monitor
from careline.monitoring.services import monitors

DEMO: list[dict[str, Any]] = [
    {
        "name": "EHR database nightly backup",
        "kind": "heartbeat",
        "config": {"cron": "0 2 * * *", "tz": "America/New_York", "grace_s": 3600},
        "service": "EHR",
        "impact": {"care_effect": "none", "scope": "enterprise"},
        "tags": ["backup"],
    },
    {
        "name": "PACS archive nightly backup",
        "kind": "heartbeat",
        "config": {"cron": "30 1 * * *", "tz": "America/New_York", "grace_s": 3600},
        "service": "PACS",
        "impact": {"care_effect": "none", "scope": "enterprise"},
        "tags": ["backup"],
    },
    {
        "name": "Lab results interface job",
        "kind": "heartbeat",
        "config": {"period_s": 900, "grace_s": 300},
        "service": "LIS",
        "impact": {"care_effect": "degraded", "scope": "site"},
        "tags": ["interface"],
    },
    {
        "name": "EHR database (example host, paused)",
        "kind": "postgres",
        "config": {
            "dsn": "postgresql://monitor:change-me@ehr-db.hospital.example:5432/ehr",
            "query": "SELECT 1",
            "expect": "1",
        },
        "service": "EHR",
        "impact": {"care_effect": "blocked", "scope": "enterprise"},
        "paused": True,
    },
    {
        "name": "EHR web (example host, paused)",
        "kind": "http",
        "config": {"url": "https://ehr.hospital.example/health", "keyword": "ok"},
        "service": "EHR",
        "impact": {"care_effect": "blocked", "scope": "enterprise"},
        "depends_on": ["EHR database (example host, paused)"],
        "paused": True,
    },
    {
        "name": "PACS DICOM echo (example host, paused)",
        "kind": "dicom",
        "config": {
            "host": "pacs.hospital.example",
            "port": 104,
            "called_ae": "PACS",
            "calling_ae": "CARELINE",
        },
        "service": "PACS",
        "impact": {"care_effect": "blocked", "scope": "site"},
        "paused": True,
    },
    {
        "name": "Lab HL7 interface (example host, paused)",
        "kind": "hl7",
        "config": {"host": "lis.hospital.example", "port": 2575},
        "service": "LIS",
        "impact": {"care_effect": "degraded", "scope": "site"},
        "paused": True,
    },
    {
        "name": "FHIR API (example host, paused)",
        "kind": "fhir",
        "config": {"base_url": "https://fhir.hospital.example/r4"},
        "service": "EHR",
        "impact": {"care_effect": "degraded", "scope": "enterprise"},
        "paused": True,
    },
]


def load() -> None:
    """Idempotent: a monitor whose name exists is left alone."""
    with transaction.atomic():
        for spec in DEMO:
            if Monitor.objects.filter(name=spec["name"]).exists():
                continue
            if not ClinicalService.objects.filter(code=spec["service"]).exists():
                continue
            data = dict(spec)
            parents = data.pop("depends_on", [])
            data["depends_on"] = list(
                Monitor.objects.filter(name__in=parents).values_list("pk", flat=True)
            )
            monitors.create_monitor(None, data)
