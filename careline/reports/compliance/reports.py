"""The compliance reports: access review, who viewed tickets holding PHI, security incidents
and their outcomes, Business Associate Agreements.

Each is built once as tables (tables.py); the page, the CSV and PDF exports and the API all
show the same rows. Only managers, auditors and administrators may read them
(Perm.COMPLIANCE_VIEW).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from careline.core import audit
from careline.core.errors import InvalidInput, NotFound
from careline.core.models import User
from careline.core.permissions import Perm, require
from careline.reports.compliance import forms as filters
from careline.reports.compliance.access import access_review
from careline.reports.compliance.baas import BAA_EXPIRING_DAYS, baa_status
from careline.reports.compliance.phi_views import phi_views
from careline.reports.compliance.security import security_incidents
from careline.reports.compliance.tables import Report, Table

__all__ = ["REPORTS", "FiltersRefused", "Report", "ReportKind", "build", "kind_of", "record_export"]


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    description: str
    form: type[filters.ReportForm]
    build: Callable[[User, dict[str, Any]], Report]


REPORTS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        ReportKind(
            "access-review",
            "Access review",
            "Every account, role, last sign-in and second factor; dormant accounts; API tokens.",
            filters.AccessReviewForm,
            lambda actor, f: access_review(actor, role=f["role"], dormant=f["dormant"]),
        ),
        ReportKind(
            "phi-views",
            "Who viewed tickets holding PHI",
            "Each opening of a ticket flagged as likely holding patient information.",
            filters.PhiViewsForm,
            lambda actor, f: phi_views(actor, since=f["since"], until=f["until"], user=f["user"]),
        ),
        ReportKind(
            "security-incidents",
            "Security incidents and their outcomes",
            "Suspected breaches, malware and lost devices, with outcome and breach risk.",
            filters.SecurityIncidentsForm,
            lambda actor, f: security_incidents(
                actor, since=f["since"], until=f["until"], outcome=f["outcome"]
            ),
        ),
        ReportKind(
            "baa-status",
            "Business Associate Agreements",
            f"Vendors handling PHI: BAA signed, expiring within {BAA_EXPIRING_DAYS} days, expired or missing.",
            filters.BaaStatusForm,
            lambda actor, f: baa_status(actor, problems=f["problems"]),
        ),
    )
}


def kind_of(name: str) -> ReportKind:
    kind = REPORTS.get(name)
    if kind is None:
        raise NotFound(
            f"no compliance report is named {name[:60]!r} (known: {', '.join(REPORTS)})",
            field="report",
        )
    return kind


class FiltersRefused(InvalidInput):
    """A filter's value was refused; `form` holds every message, for the page to show."""

    def __init__(self, form: filters.ReportForm) -> None:
        name, errors = next(iter(form.errors.items()))
        super().__init__(
            " ".join(str(e) for e in errors), field="period" if name == "__all__" else name
        )
        self.form = form


def build(actor: User, name: str, params: Mapping[str, Any]) -> tuple[Report, filters.ReportForm]:
    """The report `name` with the filters in `params` (a query string's values), and the
    checked form for the page to show them. Refused first for who asks, then for what."""
    require(actor, Perm.COMPLIANCE_VIEW)
    kind = kind_of(name)
    form = kind.form(params)
    if not form.is_valid():
        raise FiltersRefused(form)
    report = kind.build(actor, form.cleaned_data)
    report.filters = form.applied()
    return report, form


def record_export(actor: User, report: Report, fmt: str, tables: list[Table]) -> None:
    """Who took which report out of CareLine, in what form, with which filters. Written
    before the first byte is sent."""
    rows = sum(t.total for t in tables)
    audit.record(
        "report.export",
        actor=actor,
        object_type="reports.compliance",
        object_id=report.name,
        summary=f"{report.title} exported as {fmt.upper()} ({rows} rows)",
        after={"format": fmt, "tables": [t.name for t in tables], "filters": report.filters},
    )
