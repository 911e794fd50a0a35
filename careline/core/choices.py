"""Enumerations shared across CareLine; values are the lower-case words of DESIGN.md."""

from django.db import models


class Role(models.TextChoices):
    REQUESTER = "requester", "Requester"
    AGENT = "agent", "Service-desk agent"
    ENGINEER = "engineer", "Engineer"
    MANAGER = "manager", "IT manager"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Administrator"


class ClinicalArea(models.TextChoices):
    ED = "ed", "Emergency department"
    ICU = "icu", "Intensive care"
    OR = "or", "Operating theatres"
    LABOUR_DELIVERY = "labour_delivery", "Labour and delivery"
    NICU = "nicu", "Neonatal intensive care"
    PHARMACY = "pharmacy", "Pharmacy"
    LAB = "lab", "Laboratory"
    RADIOLOGY = "radiology", "Radiology"
    WARD = "ward", "Ward"
    OUTPATIENT = "outpatient", "Outpatients"
    ADMIN = "admin", "Administration"
    OTHER = "other", "Other"


# Areas where an IT failure stops care at once; a department in one is critical unless
# the hospital says otherwise.
CRITICAL_AREAS = frozenset(
    {
        ClinicalArea.ED,
        ClinicalArea.ICU,
        ClinicalArea.OR,
        ClinicalArea.LABOUR_DELIVERY,
        ClinicalArea.NICU,
        ClinicalArea.PHARMACY,
    }
)


class ServiceTier(models.IntegerChoices):
    LIFE_CRITICAL = 1, "Tier 1: life-critical"
    IMPORTANT = 2, "Tier 2: important"
    SUPPORTING = 3, "Tier 3: supporting"
