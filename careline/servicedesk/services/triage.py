"""Clinical triage: a ticket's priority from its effect on patient care (DESIGN.md).

The first rule that matches decides, and the ticket keeps the rule as a sentence so a
clinician and an auditor can both see why the desk ranked it as it did.
"""

from __future__ import annotations

from dataclasses import dataclass

from careline.core.choices import ClinicalArea
from careline.servicedesk.choices import WIDE_SCOPES, CareEffect, Kind, Priority, Scope


@dataclass(frozen=True)
class TriageInput:
    care_effect: str
    scope: str
    critical_area: bool
    area_label: str = ""  # the department's clinical area, for the sentence ("ED")
    service_tier: int | None = None
    service_name: str = ""
    kind: str = Kind.INCIDENT
    phi_breach_suspected: bool = False


@dataclass(frozen=True)
class Triage:
    priority: Priority
    reason: str


AREA_SHORT = {
    ClinicalArea.ED: "ED",
    ClinicalArea.ICU: "ICU",
    ClinicalArea.OR: "OR",
    ClinicalArea.LABOUR_DELIVERY: "labour and delivery",
    ClinicalArea.NICU: "NICU",
    ClinicalArea.PHARMACY: "pharmacy",
}

SCOPE_WORDS = {
    Scope.PERSON: "one person",
    Scope.DEPARTMENT: "a whole department",
    Scope.SITE: "a whole site",
    Scope.ENTERPRISE: "every site",
}


def _tier1(t: TriageInput) -> str:
    return f"tier-1 service ({t.service_name})" if t.service_name else "a tier-1 service"


def triage(t: TriageInput) -> Triage:
    blocked = t.care_effect == CareEffect.BLOCKED
    degraded = t.care_effect == CareEffect.DEGRADED
    tier1 = t.service_tier == 1
    wide = t.scope in WIDE_SCOPES
    area = "a critical area"
    if t.area_label in ClinicalArea.values:
        area += f" ({AREA_SHORT.get(ClinicalArea(t.area_label), ClinicalArea(t.area_label).label)})"

    # P1
    if t.kind == Kind.SECURITY and t.phi_breach_suspected:
        return Triage(
            Priority.P1, "Security incident with a suspected breach of patient information"
        )
    if blocked and t.critical_area:
        return Triage(Priority.P1, f"Patient care blocked in {area}")
    if blocked and tier1:
        return Triage(Priority.P1, f"Patient care blocked on a {_tier1(t)}")
    if blocked and wide:
        return Triage(Priority.P1, f"Patient care blocked for {SCOPE_WORDS[Scope(t.scope)]}")
    if degraded and t.scope in (Scope.SITE, Scope.ENTERPRISE) and tier1:
        return Triage(
            Priority.P1, f"Patient care degraded for {SCOPE_WORDS[Scope(t.scope)]} on a {_tier1(t)}"
        )
    # P2
    if blocked:
        return Triage(Priority.P2, "Patient care blocked for one person outside a critical area")
    if degraded and t.critical_area:
        return Triage(Priority.P2, f"Patient care degraded in {area}")
    if degraded and tier1:
        return Triage(Priority.P2, f"Patient care degraded on a {_tier1(t)}")
    if degraded and wide:
        return Triage(Priority.P2, f"Patient care degraded for {SCOPE_WORDS[Scope(t.scope)]}")
    # P3
    if degraded:
        return Triage(Priority.P3, "Patient care degraded for one person, with a workaround")
    if wide:
        return Triage(
            Priority.P3, f"No effect on patient care, but {SCOPE_WORDS[Scope(t.scope)]} is affected"
        )
    # P4
    return Triage(Priority.P4, "No effect on patient care, one person affected")
