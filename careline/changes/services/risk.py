"""Risk from the five questionnaire answers: a score, its level, and the sentence why."""

from __future__ import annotations

from dataclasses import dataclass

from careline.changes.choices import ClinicalImpact, Complexity, RiskLevel

HIGH_FROM = 5
MEDIUM_FROM = 2


@dataclass(frozen=True)
class Risk:
    score: int
    level: str
    reason: str


def assess(
    *,
    clinical_impact: str,
    complexity: str,
    tested: bool,
    has_backout_plan: bool,
    out_of_hours: bool,
    tier1: bool,
) -> Risk:
    """Each answer adds points; the reasons name what added them, worst first."""
    factors: list[tuple[int, str]] = []
    if clinical_impact == ClinicalImpact.BLOCKED:
        factors.append(
            (3 + tier1, "clinical impact on a tier-1 service" if tier1 else "care blocked")
        )
    elif clinical_impact == ClinicalImpact.DEGRADED:
        factors.append(
            (1 + tier1, "care degraded on a tier-1 service" if tier1 else "care degraded")
        )
    if complexity == Complexity.HIGH:
        factors.append((2, "high complexity"))
    elif complexity == Complexity.MEDIUM:
        factors.append((1, "medium complexity"))
    if not tested:
        factors.append((2, "not tested"))
    if not has_backout_plan:
        factors.append((2, "no backout plan"))
    if not out_of_hours:
        # More patients and staff depend on the systems during the working day.
        factors.append((1, "during working hours"))
    score = sum(points for points, _ in factors)
    if score >= HIGH_FROM:
        level = RiskLevel.HIGH
    elif score >= MEDIUM_FROM:
        level = RiskLevel.MEDIUM
    else:
        level = RiskLevel.LOW
    ranked = [text for points, text in sorted(factors, key=lambda f: -f[0]) if points >= 2]
    if not ranked:
        ranked = [text for _, text in factors] or ["no risk factors"]
    return Risk(score, str(level), f"{RiskLevel(level).label}: {', '.join(ranked)}")
