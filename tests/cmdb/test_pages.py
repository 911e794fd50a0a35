"""The CMDB's pages: the list with filters, an item with its impact tree, vendors, reports;
and the demo hospital's CMDB, loaded twice without change."""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

from django.test import Client

from careline.cmdb import demo
from careline.cmdb.impact import item_impact
from careline.cmdb.models import Baa, ConfigItem, Relationship
from careline.cmdb.services import vendors
from careline.core.demo import load_demo
from careline.core.models import AuditEvent, User
from tests.cmdb.conftest import Cmdb


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def test_the_item_list_filters_by_type_and_names_a_bad_filter(cmdb: Cmdb) -> None:
    client = client_for(cmdb.hospital.agent)
    page = client.get("/cmdb/", {"item_type": "server"})
    assert page.status_code == 200
    words = text(page)
    assert "ESX-1" in words
    assert "PRINT-01" in words
    assert "EHR-VM1" not in words
    assert "3 items" in words
    bad = client.get("/cmdb/", {"item_type": "toaster"})
    assert bad.status_code == 422
    assert "Input should be" in text(bad)
    assert client_for(cmdb.hospital.nurse).get("/cmdb/").status_code == 403


def test_the_item_page_shows_its_relationships_and_impact_tree(cmdb: Cmdb) -> None:
    page = client_for(cmdb.hospital.auditor).get(f"/cmdb/items/{cmdb.esx1.pk}/")
    assert page.status_code == 200
    words = text(page)
    assert "If ESX-1 fails" in words
    assert "Care blocked , scope enterprise" in words
    assert "Items affected (5)" in words
    # The tree: the database VM runs on ESX-1, the database on it, the EHR app depends on that.
    body = page.content.decode()
    tree = body[body.index('class="impact-graph"') :]
    order = [tree.index(name) for name in ("EHR-DB-VM", "EHR-DB<", "EHR app")]
    assert order == sorted(order)
    assert "Emergency Department" in words
    assert "EHR-VM1 runs on ESX-1" in words
    missing = client_for(cmdb.hospital.auditor).get("/cmdb/items/999999/")
    assert missing.status_code == 404


def test_vendor_pages_say_whether_phi_may_be_shared(cmdb: Cmdb) -> None:
    vendor = vendors.save_vendor(
        None, {"name": "Infusia Medical", "support_phone": "+1 800 555 0104"}
    )
    client = client_for(cmdb.hospital.agent)
    assert "Infusia Medical +1 800 555 0104 None" in text(client.get("/cmdb/vendors/"))
    page = client.get(f"/cmdb/vendors/{vendor.pk}/")
    assert page.status_code == 200
    assert "No active Business Associate Agreement" in text(page)


def test_every_report_page_renders(cmdb: Cmdb) -> None:
    client = client_for(cmdb.hospital.manager)
    for name in (
        "warranties",
        "os-end-of-life",
        "constrained-devices",
        "replacement-plan",
        "vulnerabilities",
        "budget",
    ):
        assert client.get(f"/cmdb/reports/{name}/").status_code == 200, name
    assert client.get("/cmdb/reports/nonsense/").status_code == 404


def test_the_demo_cmdb_links_to_the_demo_hospital_and_loads_once(db: None) -> None:
    load_demo(out=type("Sink", (), {"write": lambda self, msg: None})())
    items = ConfigItem.objects.count()
    relationships = Relationship.objects.count()
    events = AuditEvent.objects.count()
    assert items >= 20
    assert Baa.objects.filter(status="active").count() == 2

    demo.load()  # a second run changes nothing
    assert (
        ConfigItem.objects.count(),
        Relationship.objects.count(),
        AuditEvent.objects.count(),
    ) == (
        items,
        relationships,
        events,
    )
    # A host under the EHR database blocks care in the ED and ICU at Northgate and Riverside.
    impact = item_impact(ConfigItem.objects.get(name="NG-ESX-01").pk)
    assert impact.care_effect == "blocked"
    assert impact.scope == "enterprise"
    assert {"NG-ED", "NG-ICU", "RV-ED"} <= {d.code for d in impact.departments}
    pump = item_impact(ConfigItem.objects.get(name="NG-WLC-01").pk)
    assert [s.code for s in pump.services][:2] == ["BCMA", "WIFI"]
