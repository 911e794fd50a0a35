"""The demo ward's downtime set-up, in plain rows: the ED relies on the EHR, Riverside Ward 1
on printing; the EHR has a procedure for everyone and one of the ED's own."""

from __future__ import annotations

from careline.cmdb.models import DepartmentReliance
from careline.continuity.services import procedures
from careline.core.models import ClinicalService, Department
from tests.conftest import Hospital


def set_up(hospital: Hospital) -> None:
    for person in hospital.all().values():
        person.email = f"{person.username}@hospital.example"
        person.save(update_fields=["email"])
    ehr = ClinicalService.objects.get(code="EHR")
    printing = ClinicalService.objects.get(code="PRINT")
    DepartmentReliance.objects.create(
        department=Department.objects.get(code="NG-ED"), service=ehr, criticality="essential"
    )
    DepartmentReliance.objects.create(
        department=Department.objects.get(code="RV-W1"), service=printing, criticality="convenience"
    )
    procedures.create(
        None,
        service="EHR",
        title="EHR paper charting",
        body="Use the **paper kit** in the ward office.",
    )
    procedures.create(
        None,
        service="EHR",
        department="NG-ED",
        title="ED paper triage",
        body="Register arrivals on the paper log with a downtime number.",
        document_url="https://intranet.example/ed-downtime.pdf",
    )
