"""Risk from the five answers: score, level, and the sentence stored with it.

Bad input tried: an unknown clinical_impact or complexity (refused naming the field)."""

from __future__ import annotations

from typing import Any

import pytest

from careline.changes.models import Change
from careline.changes.services import changes
from careline.changes.services.risk import assess
from careline.core.errors import InvalidInput
from tests.conftest import Hospital


def test_blocked_tier1_untested_is_high_with_its_reasons() -> None:
    risk = assess(
        clinical_impact="blocked",
        complexity="low",
        tested=False,
        has_backout_plan=True,
        out_of_hours=True,
        tier1=True,
    )
    assert (risk.level, risk.reason) == (
        "high",
        "High: clinical impact on a tier-1 service, not tested",
    )


@pytest.mark.parametrize(
    ("answers", "level"),
    [
        ({"clinical_impact": "none", "complexity": "low", "tested": True}, "low"),
        ({"clinical_impact": "degraded", "complexity": "low", "tested": True}, "low"),
        ({"clinical_impact": "degraded", "complexity": "medium", "tested": True}, "medium"),
        ({"clinical_impact": "none", "complexity": "high", "tested": True}, "medium"),
        ({"clinical_impact": "blocked", "complexity": "high", "tested": True}, "high"),
    ],
)
def test_levels(answers: dict[str, Any], level: str) -> None:
    risk = assess(**answers, has_backout_plan=True, out_of_hours=True, tier1=False)
    assert risk.level == level


def test_working_hours_and_no_backout_add_risk() -> None:
    calm = {"clinical_impact": "none", "complexity": "low", "tested": True, "tier1": False}
    assert assess(**calm, has_backout_plan=True, out_of_hours=True).reason == (
        "Low: no risk factors"
    )
    risky = assess(**calm, has_backout_plan=False, out_of_hours=False)
    assert (risky.level, risky.reason) == ("medium", "Medium: no backout plan")


@pytest.mark.django_db
def test_stored_on_the_change_and_follows_edits(make_change: Any, hospital: Hospital) -> None:
    change = make_change(clinical_impact="blocked", tested=False)
    assert change.risk_level == "high"
    assert change.risk_reason == "High: clinical impact on a tier-1 service, not tested"
    changes.update_change(hospital.agent, change.pk, 1, {"clinical_impact": "none", "tested": True})
    change.refresh_from_db()
    assert (change.risk_level, change.risk_reason) == ("low", "Low: medium complexity")
    with pytest.raises(InvalidInput) as bad:
        changes.update_change(hospital.agent, change.pk, 2, {"complexity": "extreme"})
    assert bad.value.field == "complexity"
    assert Change.objects.get(pk=change.pk).complexity == "medium"
