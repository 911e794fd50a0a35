"""The demo hospital's downtime procedures for the EHR."""

from __future__ import annotations

from careline.continuity.models import DowntimeProcedure
from careline.continuity.services import procedures
from careline.core.models import ClinicalService, Department

EHR_ALL = (
    "EHR downtime: paper charting",
    "1. Take the downtime kit from the ward office (paper order sets, MAR, progress notes).\n"
    "2. Print the latest census and medication report from the read-only workstation.\n"
    "3. Write every order and administration on paper, with the time.\n"
    "4. Keep the paper in the kit: it is back-entered when the EHR returns.",
)
EHR_ED = (
    "EHR downtime in the Emergency Department",
    "1. Register arrivals on the paper log with a downtime number (DT-1, DT-2, ...).\n"
    "2. Triage on the paper triage form; phone critical results to the ED charge nurse.\n"
    "3. Send labs and imaging with paper requisitions.",
)


def load() -> None:
    """Idempotent: a procedure already present is left alone."""
    ehr = ClinicalService.objects.filter(code="EHR").first()
    if ehr is None:
        return
    if not DowntimeProcedure.objects.filter(service=ehr, department=None).exists():
        procedures.create(None, service="EHR", title=EHR_ALL[0], body=EHR_ALL[1])
    ed = Department.objects.filter(clinical_area="ed").order_by("code").first()
    if ed is not None and not DowntimeProcedure.objects.filter(service=ehr, department=ed).exists():
        procedures.create(None, service="EHR", department=ed.code, title=EHR_ED[0], body=EHR_ED[1])
