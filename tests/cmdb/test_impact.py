"""Who is hurt when an item fails: transitive walk, cycles, redundancy, reliance, scope."""

from __future__ import annotations

from typing import Any

import pytest

from careline.cmdb.impact import affected_item_ids, item_impact
from careline.cmdb.services import items
from careline.core.errors import NotFound
from tests.cmdb.conftest import Cmdb


def test_a_hypervisor_failing_blocks_care_in_the_ed_through_the_database_it_hosts(
    cmdb: Cmdb,
) -> None:
    impact = item_impact(cmdb.esx1.pk)

    # ESX-1 hosts EHR-VM1 and the database VM; the database runs there; the EHR app needs it.
    assert affected_item_ids(cmdb.esx1.pk) == {
        cmdb.esx1.pk,
        cmdb.vm1.pk,
        cmdb.db_vm.pk,
        cmdb.ehr_db.pk,
        cmdb.ehr.pk,
    }
    assert impact.item_count == 5
    assert [(s.code, s.state) for s in impact.services] == [("EHR", "down")]
    effects = {d.code: d.care_effect for d in impact.departments}
    assert effects == {"NG-ED": "blocked", "RV-W1": "degraded"}
    assert impact.care_effect == "blocked"
    assert impact.scope == "enterprise"  # departments at Northgate and Riverside
    assert impact.critical_area
    assert "Emergency Department" in impact.explanation
    assert "relies on it as essential" in impact.explanation
    assert [a["area"] for a in impact.clinical_areas] == ["ed", "ward"]


def test_losing_one_of_two_redundant_vms_only_degrades_the_service(cmdb: Cmdb) -> None:
    impact = item_impact(cmdb.esx2.pk)

    assert [(s.code, s.state) for s in impact.services] == [("EHR", "degraded")]
    assert {d.code: d.care_effect for d in impact.departments} == {
        "NG-ED": "degraded",
        "RV-W1": "degraded",
    }
    assert impact.care_effect == "degraded"


def test_convenience_reliance_is_no_effect_and_one_hurt_department_is_department_scope(
    cmdb: Cmdb,
) -> None:
    impact = item_impact(cmdb.print_server.pk)

    assert {d.code: d.care_effect for d in impact.departments} == {
        "NG-W4": "degraded",
        "NG-ED": "none",
    }
    assert impact.care_effect == "degraded"
    assert impact.scope == "department"
    assert not impact.critical_area


def test_two_departments_of_one_site_is_site_scope(cmdb: Cmdb) -> None:
    items.set_reliance(None, "NG-ED", "PRINT", "workaround")

    assert item_impact(cmdb.print_server.pk).scope == "site"


def test_an_item_in_no_service_has_no_effect_and_says_so(cmdb: Cmdb) -> None:
    impact = item_impact(cmdb.lonely.pk)

    assert impact.services == []
    assert impact.departments == []
    assert (impact.care_effect, impact.scope, impact.item_count) == ("none", "person", 1)
    assert "part of no clinical service" in impact.explanation


def test_a_dependency_cycle_ends_the_walk_and_counts_each_item_once(cmdb: Cmdb) -> None:
    # The database also "depends on" the application: a cycle EHR app <-> EHR-DB.
    items.create_relationship(None, cmdb.ehr_db.pk, cmdb.ehr.pk, "depends_on")

    impact = item_impact(cmdb.ehr.pk)

    assert affected_item_ids(cmdb.ehr.pk) == {cmdb.ehr.pk, cmdb.ehr_db.pk}
    assert impact.item_count == 2
    assert impact.care_effect == "blocked"


def test_an_unknown_item_is_not_found_naming_the_id(db: None) -> None:
    with pytest.raises(NotFound) as refused:
        item_impact(999_999)
    assert refused.value.field == "id"


def test_the_impact_endpoint_answers_staff_and_refuses_requesters(cmdb: Cmdb, api_as: Any) -> None:
    answer = api_as(cmdb.hospital.agent).get(f"/cmdb/items/{cmdb.esx1.pk}/impact")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["care_effect"] == "blocked"
    assert body["scope"] == "enterprise"
    assert body["services"] == [
        {"code": "EHR", "name": "Electronic health record", "tier": 1, "state": "down"}
    ]
    assert body["departments"][0]["code"] == "NG-ED"

    nurse = api_as(cmdb.hospital.nurse).get(f"/cmdb/items/{cmdb.esx1.pk}/impact")
    assert nurse.status_code == 403
    missing = api_as(cmdb.hospital.agent).get("/cmdb/items/424242/impact")
    assert missing.status_code == 404
    assert "424242" in missing.json()["detail"]
