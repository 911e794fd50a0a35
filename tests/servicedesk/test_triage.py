"""Clinical triage: every rule of DESIGN.md, and the sentence that explains it."""

from __future__ import annotations

import pytest

from careline.servicedesk.services.triage import TriageInput, triage


def _t(
    effect: str,
    scope: str = "person",
    critical: bool = False,
    area: str = "ward",
    tier: int | None = None,
    **kw: object,
) -> tuple[str, str]:
    result = triage(
        TriageInput(
            care_effect=effect,
            scope=scope,
            critical_area=critical,
            area_label=area,
            service_tier=tier,
            service_name="EHR" if tier == 1 else "",
            **kw,
        )
    )  # type: ignore[arg-type]
    return result.priority, result.reason


@pytest.mark.parametrize(
    ("args", "kwargs", "priority", "reason"),
    [
        (
            ("blocked", "person", True, "ed"),
            {},
            "P1",
            "Patient care blocked in a critical area (ED)",
        ),
        (
            ("blocked", "person", True, "icu"),
            {},
            "P1",
            "Patient care blocked in a critical area (ICU)",
        ),
        (
            ("blocked", "person", False, "ward", 1),
            {},
            "P1",
            "Patient care blocked on a tier-1 service (EHR)",
        ),
        (("blocked", "department"), {}, "P1", "Patient care blocked for a whole department"),
        (("blocked", "enterprise"), {}, "P1", "Patient care blocked for every site"),
        (
            ("degraded", "site", False, "ward", 1),
            {},
            "P1",
            "Patient care degraded for a whole site on a tier-1 service (EHR)",
        ),
        (
            ("none", "person"),
            {"kind": "security", "phi_breach_suspected": True},
            "P1",
            "Security incident with a suspected breach of patient information",
        ),
        (
            ("blocked", "person"),
            {},
            "P2",
            "Patient care blocked for one person outside a critical area",
        ),
        (
            ("degraded", "person", True, "icu"),
            {},
            "P2",
            "Patient care degraded in a critical area (ICU)",
        ),
        (
            ("degraded", "person", False, "ward", 1),
            {},
            "P2",
            "Patient care degraded on a tier-1 service (EHR)",
        ),
        (
            ("degraded", "department", False, "ward", 1),
            {},
            "P2",
            "Patient care degraded on a tier-1 service (EHR)",
        ),
        (("degraded", "department"), {}, "P2", "Patient care degraded for a whole department"),
        (
            ("degraded", "person", False, "ward", 2),
            {},
            "P3",
            "Patient care degraded for one person, with a workaround",
        ),
        (
            ("none", "department"),
            {},
            "P3",
            "No effect on patient care, but a whole department is affected",
        ),
        (
            ("none", "site", True, "ed", 1),
            {},
            "P3",
            "No effect on patient care, but a whole site is affected",
        ),
        (
            ("none", "person", True, "ed", 1),
            {},
            "P4",
            "No effect on patient care, one person affected",
        ),
        (
            ("none", "person"),
            {"kind": "security"},
            "P4",
            "No effect on patient care, one person affected",
        ),
    ],
)
def test_each_rule(
    args: tuple[object, ...], kwargs: dict[str, object], priority: str, reason: str
) -> None:
    assert _t(*args, **kwargs) == (priority, reason)  # type: ignore[arg-type]


def test_a_department_marked_critical_outside_the_usual_areas_is_named_by_its_area() -> None:
    assert _t("blocked", "person", True, "radiology") == (
        "P1",
        "Patient care blocked in a critical area (Radiology)",
    )


@pytest.mark.parametrize("effect", ["blocked", "degraded", "none"])
@pytest.mark.parametrize("scope", ["person", "department", "site", "enterprise"])
@pytest.mark.parametrize("critical", [True, False])
@pytest.mark.parametrize("tier", [None, 1, 2, 3])
def test_more_harm_never_lowers_the_priority(
    effect: str, scope: str, critical: bool, tier: int | None
) -> None:
    """Monotonic: a worse effect, a wider scope, a critical area or tier 1 never ranks lower."""
    base = _t(effect, scope, critical, "icu" if critical else "ward", tier)[0]
    worse_effect = {"none": "degraded", "degraded": "blocked", "blocked": "blocked"}[effect]
    wider = {
        "person": "department",
        "department": "site",
        "site": "enterprise",
        "enterprise": "enterprise",
    }[scope]
    for variant in (
        _t(worse_effect, scope, critical, "icu" if critical else "ward", tier),
        _t(effect, wider, critical, "icu" if critical else "ward", tier),
        _t(effect, scope, True, "icu", tier),
        _t(effect, scope, critical, "icu" if critical else "ward", 1),
    ):
        assert variant[0] <= base  # "P1" < "P2" < ...
