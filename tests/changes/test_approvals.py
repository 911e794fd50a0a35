"""The change advisory board: who may approve, how many approvals, one rejection rejects,
and approval inside a blackout.

Bad input tried: an agent and an auditor approving (403), the requester approving their own
change (403), approving twice (409), approving a draft (409), rejecting with no comment
(422), approving a change in a blackout without an emergency justification (409)."""

from __future__ import annotations

from typing import Any

import pytest

from careline.changes.models import Approval, Change
from careline.changes.services import blackouts, lifecycle
from careline.core.errors import Conflict, Forbidden, InvalidInput
from tests.conftest import Hospital

pytestmark = pytest.mark.django_db


def test_who_may_approve(make_change: Any, hospital: Hospital) -> None:
    change = make_change()
    with pytest.raises(Conflict, match="the board decides on submitted changes"):
        lifecycle.approve(hospital.manager, change.pk)
    lifecycle.submit(hospital.agent, change.pk)
    for person in (hospital.agent, hospital.engineer, hospital.auditor, hospital.nurse):
        with pytest.raises(Forbidden):
            lifecycle.approve(person, change.pk)
    own = make_change(requester=hospital.manager)
    lifecycle.submit(hospital.manager, own.pk)
    with pytest.raises(Forbidden, match="may not decide on their own change"):
        lifecycle.approve(hospital.manager, own.pk)
    assert Approval.objects.count() == 0
    lifecycle.approve(hospital.admin, own.pk, "ok")
    assert Change.objects.get(pk=own.pk).state == "scheduled"


def test_two_approvals_when_configured_and_no_approving_twice(
    make_change: Any, hospital: Hospital, settings: Any
) -> None:
    settings.CHANGE_APPROVALS = 2
    change = make_change()
    lifecycle.submit(hospital.agent, change.pk)
    lifecycle.approve(hospital.manager, change.pk, "Looks safe")
    assert Change.objects.get(pk=change.pk).state == "submitted"
    with pytest.raises(Conflict, match="already decided"):
        lifecycle.approve(hospital.manager, change.pk, "again")
    lifecycle.approve(hospital.admin, change.pk, "Agreed")
    change.refresh_from_db()
    assert change.state == "scheduled"
    assert [(a.approver.username, a.comment) for a in change.approvals.all()] == [
        ("helen", "Looks safe"),
        ("alex", "Agreed"),
    ]


def test_one_rejection_rejects(make_change: Any, hospital: Hospital, settings: Any) -> None:
    settings.CHANGE_APPROVALS = 2
    change = make_change()
    lifecycle.submit(hospital.agent, change.pk)
    lifecycle.approve(hospital.manager, change.pk)
    with pytest.raises(InvalidInput) as bad:
        lifecycle.reject(hospital.admin, change.pk, "  ")
    assert bad.value.field == "comment"
    lifecycle.reject(hospital.admin, change.pk, "Clashes with the lab go-live")
    change.refresh_from_db()
    assert change.state == "rejected"
    with pytest.raises(Conflict):
        lifecycle.start(hospital.agent, change.pk)


def test_approval_inside_a_blackout_needs_an_emergency_justification(
    make_change: Any, hospital: Hospital
) -> None:
    blackouts.create_blackout(
        hospital.manager,
        name="EHR upgrade freeze",
        services=["EHR"],
        starts_at=make_change().planned_start,
        ends_at=make_change().planned_end,
        reason="Freeze before the EHR upgrade",
    )
    change = make_change()
    lifecycle.submit(hospital.agent, change.pk)
    change.refresh_from_db()
    assert [c["kind"] for c in change.conflicts].count("blackout") == 1
    with pytest.raises(Conflict) as refused:
        lifecycle.approve(hospital.manager, change.pk)
    assert refused.value.field == "emergency_justification"
    assert Approval.objects.count() == 0
    lifecycle.approve(
        hospital.manager,
        change.pk,
        "Approved as an emergency",
        emergency_justification="Security fix for an exploited flaw",
    )
    change.refresh_from_db()
    assert change.state == "scheduled"
    assert change.emergency_justification == "Security fix for an exploited flaw"
