"""A change's life: normal, standard and emergency, numbered CHG-000001 onwards.

Bad input tried: illegal transitions (starting a submitted normal change, closing a draft,
completing twice, reviewing a change still under way), a standard change with no template, a
normal one naming a template, submitting without a window or plan, a stale version on PATCH,
editing a submitted change, starting an emergency with no justification, reviewing an
emergency before it is approved, an unknown outcome.
"""

from __future__ import annotations

from typing import Any

import pytest

from careline.changes.models import Change
from careline.changes.services import changes, lifecycle
from careline.core.errors import Conflict, InvalidInput
from careline.core.models import AuditEvent
from tests.changes.conftest import END, START
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db


def test_normal_change_runs_from_draft_to_closed(make_change: Any, hospital: Hospital) -> None:
    change = make_change()
    assert (change.number, change.state) == ("CHG-000001", "draft")
    assert make_change().number == "CHG-000002"
    lifecycle.submit(hospital.agent, change.pk)
    lifecycle.approve(hospital.manager, change.pk, "Fine out of hours")
    change.refresh_from_db()
    assert change.state == "scheduled"
    assert change.approved_at is not None
    lifecycle.start(hospital.engineer, change.pk)
    lifecycle.complete(hospital.engineer, change.pk, "backed_out", "node 2 would not boot")
    lifecycle.review(hospital.manager, change.pk, "Snapshot restore took 12 minutes.")
    lifecycle.close(hospital.manager, change.pk)
    change.refresh_from_db()
    assert (change.state, change.outcome) == ("closed", "backed_out")
    assert change.review_notes == "Snapshot restore took 12 minutes."
    actions = list(
        AuditEvent.objects.filter(object_type="changes.change", object_id=str(change.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "change.create",
        "change.submitted",
        "change.approval",
        "change.approved",
        "change.scheduled",
        "change.implementing",
        "change.backed_out",
        "change.reviewed",
        "change.closed",
    ]


def test_illegal_transitions_are_refused_with_the_reason(
    make_change: Any, hospital: Hospital
) -> None:
    change = make_change()
    with pytest.raises(Conflict, match="cannot go from draft to closed"):
        lifecycle.close(hospital.agent, change.pk)
    lifecycle.submit(hospital.agent, change.pk)
    with pytest.raises(Conflict, match="only an emergency change starts before it is approved"):
        lifecycle.start(hospital.agent, change.pk)
    with pytest.raises(Conflict, match="cannot go from submitted to submitted"):
        lifecycle.submit(hospital.agent, change.pk)
    lifecycle.approve(hospital.manager, change.pk)
    lifecycle.start(hospital.agent, change.pk)
    with pytest.raises(Conflict, match="cannot go from implementing to reviewed"):
        lifecycle.review(hospital.agent, change.pk, "too early")
    with pytest.raises(InvalidInput) as bad:
        lifecycle.complete(hospital.agent, change.pk, "done")
    assert bad.value.field == "outcome"
    lifecycle.complete(hospital.agent, change.pk, "implemented")
    with pytest.raises(Conflict, match="cannot go from implemented to failed"):
        lifecycle.complete(hospital.agent, change.pk, "failed")
    assert Change.objects.get(pk=change.pk).state == "implemented"


def test_standard_change_from_its_template_is_approved_on_submit(hospital: Hospital) -> None:
    template = changes.create_template(
        hospital.manager,
        name="Monthly printer driver update",
        implementation_plan="Push the signed driver package.",
        backout_plan="Push the previous package.",
        services=["PRINT"],
    )
    change = changes.create_change(
        hospital.agent,
        {
            "kind": "standard",
            "title": "Printer drivers, March",
            "template": template.pk,
            "planned_start": START,
            "planned_end": END,
        },
    )
    assert [s.code for s in change.services.all()] == ["PRINT"]
    assert change.implementation_plan == "Push the signed driver package."
    lifecycle.submit(hospital.agent, change.pk)
    change.refresh_from_db()
    assert change.state == "scheduled"
    assert change.approvals.count() == 0


def test_template_rules_on_create(hospital: Hospital) -> None:
    with pytest.raises(InvalidInput) as no_template:
        changes.create_change(hospital.agent, {"kind": "standard", "title": "x"})
    assert no_template.value.field == "template"
    template = changes.create_template(hospital.manager, name="Reboot a kiosk")
    with pytest.raises(InvalidInput) as normal_with_template:
        changes.create_change(
            hospital.agent, {"kind": "normal", "title": "x", "template": template.pk}
        )
    assert normal_with_template.value.field == "template"
    with pytest.raises(Conflict):
        changes.create_template(hospital.manager, name="Reboot a kiosk")
    assert Change.objects.count() == 0


def test_submit_needs_a_window_and_a_plan(make_change: Any, hospital: Hospital) -> None:
    no_window = make_change(planned_start=None, planned_end=None)
    with pytest.raises(InvalidInput) as bad:
        lifecycle.submit(hospital.agent, no_window.pk)
    assert bad.value.field == "planned_start"
    no_plan = make_change(implementation_plan="")
    with pytest.raises(InvalidInput) as bad:
        lifecycle.submit(hospital.agent, no_plan.pk)
    assert bad.value.field == "implementation_plan"
    assert set(Change.objects.values_list("state", flat=True)) == {"draft"}


def test_patch_only_a_draft_and_only_the_version_read(make_change: Any, hospital: Hospital) -> None:
    change = make_change()
    changes.update_change(hospital.agent, change.pk, 1, {"title": "Patch EHR app tier"})
    with pytest.raises(Conflict) as stale:
        changes.update_change(hospital.agent, change.pk, 1, {"title": "Lost update"})
    assert stale.value.field == "version"
    with pytest.raises(InvalidInput) as unknown:
        changes.update_change(hospital.agent, change.pk, 2, {"state": "approved"})
    assert unknown.value.field == "state"
    lifecycle.submit(hospital.agent, change.pk)
    with pytest.raises(Conflict, match="only a draft can be edited"):
        changes.update_change(hospital.agent, change.pk, 3, {"title": "Too late"})
    assert Change.objects.get(pk=change.pk).title == "Patch EHR app tier"


def test_emergency_change_starts_at_once_and_is_approved_afterwards(
    make_change: Any, hospital: Hospital
) -> None:
    change = make_change(kind="emergency", title="Contain ransomware on the EHR file share")
    with pytest.raises(InvalidInput) as bad:
        lifecycle.start(hospital.engineer, change.pk)
    assert bad.value.field == "emergency_justification"
    lifecycle.start(hospital.engineer, change.pk, "Active encryption of shared drives")
    change.refresh_from_db()
    assert change.state == "implementing"
    assert change.conflicts == [{"kind": "no_cover", "message": "no P2 escalation route for EHR"}]
    lifecycle.complete(hospital.engineer, change.pk, "implemented")
    with pytest.raises(Conflict, match="has not been approved yet"):
        lifecycle.review(hospital.engineer, change.pk, "Contained in 20 minutes.")
    lifecycle.approve(hospital.manager, change.pk, "Right call")
    change.refresh_from_db()
    assert change.state == "implemented"
    assert change.approved_at is not None
    lifecycle.review(hospital.engineer, change.pk, "Contained in 20 minutes.")
    assert Change.objects.get(pk=change.pk).state == "reviewed"
