"""The CMDB's enumerations; values are the lower-case words used in the API and CSV files."""

from django.db import models


class ItemType(models.TextChoices):
    APPLICATION = "application", "Application"
    SERVER = "server", "Server"
    VIRTUAL_MACHINE = "virtual_machine", "Virtual machine"
    DATABASE = "database", "Database"
    NETWORK_DEVICE = "network_device", "Network device"
    WORKSTATION = "workstation", "Workstation"
    PRINTER = "printer", "Printer"
    PERIPHERAL = "peripheral", "Peripheral (scanner, reader)"
    MEDICAL_DEVICE = "medical_device", "Medical device"
    INTERFACE = "interface", "Interface (HL7 or DICOM feed)"
    CLOUD_SERVICE = "cloud_service", "Cloud service"


class ItemStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    LIVE = "live", "Live"
    RETIRED = "retired", "Retired"


class SupportStatus(models.TextChoices):
    SUPPORTED = "supported", "Supported"
    END_OF_LIFE = "end_of_life", "End of life"
    # Cannot be patched normally (a medical device whose vendor forbids updates, say): it
    # needs compensating controls and a time-limited, approved risk acceptance.
    CONSTRAINED = "constrained", "Constrained"


class RelationKind(models.TextChoices):
    """`source <kind> target`: when the target fails, the source is affected."""

    DEPENDS_ON = "depends_on", "depends on"
    RUNS_ON = "runs_on", "runs on"
    CONNECTS_TO = "connects_to", "connects to"


class Reliance(models.TextChoices):
    """How much a department needs a clinical service."""

    ESSENTIAL = "essential", "Essential: care stops without it"
    WORKAROUND = "workaround", "Needed, with a downtime procedure"
    CONVENIENCE = "convenience", "Convenience: care goes on"


class BaaStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# Days from first seen to the patch target, by severity.
PATCH_TARGET_DAYS = {
    Severity.CRITICAL: 15,
    Severity.HIGH: 30,
    Severity.MEDIUM: 90,
    Severity.LOW: 180,
}


class BudgetScope(models.TextChoices):
    SERVICE = "service", "Clinical service"
    DEPARTMENT = "department", "Department"
    VENDOR = "vendor", "Vendor"
