"""A small hospital CMDB on top of the shared personas.

The EHR application runs on two redundant VMs on one hypervisor each and depends on its
database, which runs on a database VM; the ED and Riverside Ward 1 rely on the EHR;
printing is made of one print server the ED uses for convenience.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from careline.cmdb.models import ConfigItem
from careline.cmdb.services import items
from careline.core import services
from tests.conftest import Hospital


@dataclass
class Cmdb:
    hospital: Hospital
    esx1: ConfigItem
    esx2: ConfigItem
    vm1: ConfigItem
    vm2: ConfigItem
    db_vm: ConfigItem
    ehr_db: ConfigItem
    ehr: ConfigItem
    print_server: ConfigItem
    lonely: ConfigItem


def item(name: str, item_type: str, **extra: object) -> ConfigItem:
    return items.create_item(None, {"name": name, "item_type": item_type, **extra})


@pytest.fixture
def cmdb(hospital: Hospital) -> Cmdb:
    services.create_department(
        None, code="NG-W4", name="Ward 4 Medicine", site="NORTH", clinical_area="ward"
    )
    c = Cmdb(
        hospital=hospital,
        esx1=item("ESX-1", "server"),
        esx2=item("ESX-2", "server"),
        vm1=item("EHR-VM1", "virtual_machine", hostname="ehr-app-01", ip_address="10.0.0.21"),
        vm2=item("EHR-VM2", "virtual_machine"),
        db_vm=item("EHR-DB-VM", "virtual_machine"),
        ehr_db=item("EHR-DB", "database"),
        ehr=item("EHR app", "application"),
        print_server=item("PRINT-01", "server", hostname="print-01"),
        lonely=item("Spare laptop", "workstation"),
    )
    for source, kind, target in (
        (c.vm1, "runs_on", c.esx1),
        (c.vm2, "runs_on", c.esx2),
        (c.db_vm, "runs_on", c.esx1),
        (c.ehr_db, "runs_on", c.db_vm),
        (c.ehr, "depends_on", c.ehr_db),
    ):
        items.create_relationship(None, source.pk, target.pk, kind)
    items.add_component(None, "EHR", c.ehr.pk)
    items.add_component(None, "EHR", c.vm1.pk, redundant=True)
    items.add_component(None, "EHR", c.vm2.pk, redundant=True)
    items.add_component(None, "PRINT", c.print_server.pk)
    items.set_reliance(None, "NG-ED", "EHR", "essential")
    items.set_reliance(None, "RV-W1", "EHR", "workaround")
    items.set_reliance(None, "NG-ED", "PRINT", "convenience")
    items.set_reliance(None, "NG-W4", "PRINT", "workaround")
    return c
