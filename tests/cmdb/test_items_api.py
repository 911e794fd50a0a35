"""Items and relationships through the API: create, read, change, delete, each audited, and
every bad input the issue lists refused with a 4xx naming the field, storing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from careline.cmdb.models import ConfigItem, Relationship
from careline.core.models import AuditEvent
from tests.cmdb.conftest import Cmdb
from tests.conftest import Hospital

PUMP = {
    "name": "ICU pump 12",
    "item_type": "medical_device",
    "department": "NG-ED",
    "room": "Bay 4",
    "manufacturer": "Infusia",
    "model": "Volumat 5",
    "serial": "VP5-0012",
    "purchase_date": "2022-03-01",
    "purchase_cost": "4200.00",
    "warranty_end": "2027-03-01",
    "support_status": "constrained",
    "compensating_controls": "Own VLAN, no internet route",
    "udi_device_identifier": "00898765000034",
    "udi_production_identifier": "(21)VP5-0012",
    "mds2_on_file": True,
    "clinical_engineering_owner": "Biomedical engineering",
    "it_owner": "Network team",
    "network_segment": "medical-devices",
    "ip_address": "10.9.0.12",
}


def test_an_engineer_records_a_medical_device_with_every_field_and_it_is_audited(
    hospital: Hospital, api_as: Any
) -> None:
    answer = api_as(hospital.engineer).post("/cmdb/items", PUMP)

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["site"] == "NORTH"  # from the department
    assert body["udi_device_identifier"] == "00898765000034"
    assert body["mds2_on_file"] is True
    assert body["risk_state"] == "missing"  # constrained, no acceptance yet
    assert body["purchase_cost"] == "4200.00"
    event = AuditEvent.objects.get(action="configitem.create")
    assert event.object_id == str(body["id"])
    assert event.actor_name == "sam"

    read = api_as(hospital.auditor).get(f"/cmdb/items/{body['id']}")
    assert read.status_code == 200
    assert read.json()["name"] == "ICU pump 12"


def test_auditors_and_agents_read_but_may_not_change_and_requesters_see_nothing(
    cmdb: Cmdb, api_as: Any
) -> None:
    h = cmdb.hospital
    assert (
        api_as(h.auditor).post("/cmdb/items", {"name": "X", "item_type": "server"}).status_code
        == 403
    )
    assert (
        api_as(h.agent).post("/cmdb/items", {"name": "X", "item_type": "server"}).status_code == 403
    )
    assert api_as(h.nurse).get("/cmdb/items").status_code == 403
    listed = api_as(h.agent).get("/cmdb/items", item_type="virtual_machine")
    assert listed.status_code == 200
    assert [i["name"] for i in listed.json()["items"]] == ["EHR-DB-VM", "EHR-VM1", "EHR-VM2"]
    by_service = api_as(h.agent).get("/cmdb/items", service="EHR")
    assert [i["name"] for i in by_service.json()["items"]] == ["EHR app", "EHR-VM1", "EHR-VM2"]
    by_ip = api_as(h.agent).get("/cmdb/items", q="10.0.0.21")
    assert [i["name"] for i in by_ip.json()["items"]] == ["EHR-VM1"]


def _refused(answer: Any, status: int, field: str) -> str:
    assert answer.status_code == status, answer.content
    detail: str = answer.json()["detail"]
    assert field in detail, detail
    return detail


def test_bad_items_are_refused_naming_the_field_and_nothing_is_stored(
    hospital: Hospital, api_as: Any
) -> None:
    api = api_as(hospital.engineer)
    # An unknown type.
    _refused(api.post("/cmdb/items", {"name": "A", "item_type": "toaster"}), 422, "item_type")
    # A date that does not parse.
    _refused(
        api.post("/cmdb/items", {"name": "A", "item_type": "server", "warranty_end": "31/12/2026"}),
        422,
        "warranty_end",
    )
    # Missing the type, an unknown department, a bad IP, a negative cost.
    _refused(api.post("/cmdb/items", {"name": "A"}), 422, "item_type")
    _refused(
        api.post("/cmdb/items", {"name": "A", "item_type": "server", "department": "NOPE"}),
        422,
        "department",
    )
    _refused(
        api.post("/cmdb/items", {"name": "A", "item_type": "server", "ip_address": "10.0.0.300"}),
        422,
        "ip_address",
    )
    _refused(
        api.post("/cmdb/items", {"name": "A", "item_type": "server", "purchase_cost": "-5"}),
        422,
        "purchase_cost",
    )
    # Constrained without compensating controls; warranty ending before purchase.
    _refused(
        api.post(
            "/cmdb/items",
            {"name": "A", "item_type": "medical_device", "support_status": "constrained"},
        ),
        422,
        "compensating_controls",
    )
    _refused(
        api.post(
            "/cmdb/items",
            {
                "name": "A",
                "item_type": "server",
                "purchase_date": "2025-01-01",
                "warranty_end": "2024-01-01",
            },
        ),
        422,
        "warranty_end",
    )
    # A department at another site than the one given.
    _refused(
        api.post(
            "/cmdb/items",
            {"name": "A", "item_type": "server", "site": "RIVER", "department": "NG-ED"},
        ),
        422,
        "department",
    )
    # Not JSON at all.
    assert api.post("/cmdb/items", raw="{not json").status_code == 400
    assert not ConfigItem.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="configitem").exists()


def test_a_duplicate_name_is_a_conflict_naming_the_field(cmdb: Cmdb, api_as: Any) -> None:
    api = api_as(cmdb.hospital.engineer)
    detail = _refused(
        api.post("/cmdb/items", {"name": "ESX-1", "item_type": "server"}), 409, "name"
    )
    assert "ESX-1" in detail
    renamed = api.patch(f"/cmdb/items/{cmdb.esx2.pk}", {"name": "ESX-1"})
    _refused(renamed, 409, "name")
    assert ConfigItem.objects.get(pk=cmdb.esx2.pk).name == "ESX-2"


def test_changing_and_deleting_an_item_is_audited_with_before_and_after(
    cmdb: Cmdb, api_as: Any
) -> None:
    api = api_as(cmdb.hospital.engineer)
    changed = api.patch(f"/cmdb/items/{cmdb.esx1.pk}", {"status": "retired", "room": "DC1 rack 4"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["status"] == "retired"
    event = AuditEvent.objects.get(action="configitem.update")
    assert event.before is not None
    assert event.before["status"] == "live"
    assert event.after is not None
    assert event.after["room"] == "DC1 rack 4"

    _refused(api.patch(f"/cmdb/items/{cmdb.esx1.pk}", {"end_of_life": "soon"}), 422, "end_of_life")

    gone = api.client.delete(f"/api/v1/cmdb/items/{cmdb.lonely.pk}", headers=api.headers)
    assert gone.status_code == 204
    assert not ConfigItem.objects.filter(pk=cmdb.lonely.pk).exists()
    assert AuditEvent.objects.filter(action="configitem.delete").count() == 1
    assert api.get(f"/cmdb/items/{cmdb.lonely.pk}").status_code == 404


def test_relationships_to_missing_items_to_itself_or_twice_are_refused(
    cmdb: Cmdb, api_as: Any
) -> None:
    api = api_as(cmdb.hospital.engineer)
    before = Relationship.objects.count()
    _refused(
        api.post(
            "/cmdb/relationships", {"source": cmdb.vm2.pk, "target": 999_999, "kind": "runs_on"}
        ),
        422,
        "target",
    )
    _refused(
        api.post(
            "/cmdb/relationships", {"source": 999_998, "target": cmdb.vm2.pk, "kind": "runs_on"}
        ),
        422,
        "source",
    )
    _refused(
        api.post(
            "/cmdb/relationships", {"source": cmdb.vm2.pk, "target": cmdb.vm2.pk, "kind": "runs_on"}
        ),
        422,
        "target",
    )
    _refused(
        api.post(
            "/cmdb/relationships",
            {"source": cmdb.vm2.pk, "target": cmdb.esx1.pk, "kind": "sits_near"},
        ),
        422,
        "kind",
    )
    _refused(
        api.post(
            "/cmdb/relationships",
            {"source": cmdb.vm1.pk, "target": cmdb.esx1.pk, "kind": "runs_on"},
        ),
        409,
        "target",
    )
    assert Relationship.objects.count() == before

    made = api.post(
        "/cmdb/relationships",
        {"source": cmdb.vm1.pk, "target": cmdb.esx1.pk, "kind": "connects_to"},
    )
    assert made.status_code == 201, made.content
    assert made.json()["source_name"] == "EHR-VM1"
    listed = api.get("/cmdb/relationships", item=cmdb.esx1.pk)
    assert listed.json()["count"] == 3


def test_risk_acceptance_is_approved_time_limited_and_only_for_constrained_items(
    hospital: Hospital, api_as: Any
) -> None:
    api = api_as(hospital.manager)
    pump = api.post("/cmdb/items", PUMP).json()
    far = api.post(
        f"/cmdb/items/{pump['id']}/risk-acceptance",
        {"reason": "vendor forbids patches", "expires": "2099-01-01"},
    )
    _refused(far, 422, "expires")
    past = api.post(
        f"/cmdb/items/{pump['id']}/risk-acceptance", {"reason": "x", "expires": "2001-01-01"}
    )
    _refused(past, 422, "expires")

    until = (timezone.localdate() + timedelta(days=180)).isoformat()
    accepted = api.post(
        f"/cmdb/items/{pump['id']}/risk-acceptance",
        {"reason": "vendor forbids patches", "expires": until},
    )
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["risk_state"] == "accepted"
    assert accepted.json()["risk_accepted_by"] == "helen"

    server = api.post("/cmdb/items", {"name": "S", "item_type": "server"}).json()
    _refused(
        api.post(f"/cmdb/items/{server['id']}/risk-acceptance", {"reason": "x", "expires": until}),
        409,
        "support_status",
    )


def test_lists_take_a_fixed_number_of_queries_however_many_rows(
    cmdb: Cmdb, api_as: Any, django_assert_max_num_queries: Any
) -> None:
    api = api_as(cmdb.hospital.agent)
    vendor = api_as(cmdb.hospital.manager).post("/cmdb/vendors", {"name": "V"}).json()
    for n in range(3):
        api_as(cmdb.hospital.manager).post(
            f"/cmdb/vendors/{vendor['id']}/contacts", {"name": f"C{n}"}
        )
    # Token lookup, then the count and the page (plus the vendors' contacts).
    with django_assert_max_num_queries(6):
        assert api.get("/cmdb/items", limit=500).json()["count"] == 9
    with django_assert_max_num_queries(6):
        assert api.get("/cmdb/relationships").json()["count"] == 5
    with django_assert_max_num_queries(6):
        assert len(api.get("/cmdb/vendors").json()["items"][0]["contacts"]) == 3
    with django_assert_max_num_queries(8):
        assert api.get(f"/cmdb/items/{cmdb.esx1.pk}/impact").status_code == 200


def test_the_openapi_document_publishes_the_cmdb_and_its_bodies(
    hospital: Hospital, api_as: Any
) -> None:
    document = api_as(hospital.agent).get("/openapi.json")
    assert document.status_code == 200
    spec = document.json()
    for path in (
        "/api/v1/cmdb/items",
        "/api/v1/cmdb/items/{item_id}/impact",
        "/api/v1/cmdb/relationships",
        "/api/v1/cmdb/vendors",
        "/api/v1/cmdb/contracts",
        "/api/v1/cmdb/baas",
        "/api/v1/tickets/{ticket_id}/config-item",
        "/api/v1/tickets/{ticket_id}/vendor",
    ):
        assert path in spec["paths"], path
    item_type = spec["components"]["schemas"]["ItemType"]["enum"]
    assert "medical_device" in item_type


def test_text_with_a_nul_character_is_refused_naming_the_field(cmdb: Cmdb, api_as: Any) -> None:
    api = api_as(cmdb.hospital.engineer)
    _refused(api.post("/cmdb/items", {"name": "A\u0000B", "item_type": "server"}), 422, "name")
    _refused(api.get("/cmdb/items", q="x\u0000"), 422, "q")
    _refused(api.post("/cmdb/vendors", {"name": "V", "notes": "\u0000"}), 422, "notes")
    assert not ConfigItem.objects.filter(name__startswith="A").exists()


def test_each_removal_is_recorded_naming_the_row_it_removed(cmdb: Cmdb) -> None:
    from careline.cmdb.services import items

    engineer = cmdb.hospital.engineer
    link = items.create_relationship(None, cmdb.lonely.pk, cmdb.esx2.pk, "runs_on")
    component = items.add_component(None, "PRINT", cmdb.lonely.pk)
    reliance = items.set_reliance(None, "RV-W1", "PRINT", "convenience")
    removed = [
        (link.pk, "relationship.delete", "cmdb.relationship"),
        (component.pk, "servicecomponent.delete", "cmdb.servicecomponent"),
        (reliance.pk, "reliance.delete", "cmdb.departmentreliance"),
        (cmdb.lonely.pk, "configitem.delete", "cmdb.configitem"),
    ]
    items.delete_relationship(engineer, link.pk)
    items.remove_component(engineer, component.pk)
    items.remove_reliance(engineer, reliance.pk)
    items.delete_item(engineer, cmdb.lonely.pk)
    for pk, action, object_type in removed:
        event = AuditEvent.objects.get(action=action)
        assert (event.object_type, event.object_id, event.actor) == (object_type, str(pk), engineer)
    item_event = AuditEvent.objects.get(action="configitem.delete")
    assert item_event.summary == "Configuration item Spare laptop deleted"
    assert item_event.before is not None
    assert item_event.before["name"] == "Spare laptop"
