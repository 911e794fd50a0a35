"""The SLA targets of DESIGN.md and the six standard queues, so a new installation works at once.

Both are configuration the hospital may change afterwards; this migration only creates
what is missing.
"""

from django.db import migrations

BUSINESS_DAY = 600  # minutes in the default 08:00-18:00 business day
TARGETS = {
    "P1": (15, 240, False),
    "P2": (30, 480, False),
    "P3": (240, 3 * BUSINESS_DAY, True),
    "P4": (BUSINESS_DAY, 10 * BUSINESS_DAY, True),
}
QUEUES = [
    ("SERVICEDESK", "Service desk", "First line: every ticket no rule sends elsewhere.", "round_robin", False),
    ("CLINAPPS", "Clinical applications", "EHR, PACS, lab, pharmacy and other clinical systems.", "least_loaded", False),
    ("NETWORK", "Network", "Wired and wireless networks, remote access, telephony.", "least_loaded", False),
    ("DESKTOP", "Desktop and devices", "Workstations, carts, printers, scanners, phones.", "round_robin", False),
    ("BIOMED", "Biomedical engineering", "Networked medical devices, with clinical engineering.", "manual", False),
    ("SECURITY", "Security", "Security incidents: suspected breaches, malware, lost devices.", "manual", True),
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("servicedesk", "SlaPolicy")
    Queue = apps.get_model("servicedesk", "Queue")
    for kind in ("incident", "request", "security"):
        for priority, (respond, resolve, business) in TARGETS.items():
            SlaPolicy.objects.get_or_create(
                kind=kind,
                priority=priority,
                defaults={"respond_minutes": respond, "resolve_minutes": resolve, "business_hours": business},
            )
    for code, name, description, strategy, security in QUEUES:
        Queue.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "strategy": strategy, "is_security": security}
        )


class Migration(migrations.Migration):
    dependencies = [("servicedesk", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
