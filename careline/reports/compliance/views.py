"""The compliance pages: the list of reports, and each report on screen, as CSV (?format=csv)
and as PDF (?format=pdf). Every export is recorded in the audit trail before it is sent."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from careline.core.callers import signed_in
from careline.core.errors import CareLineError, InvalidInput
from careline.core.permissions import Perm
from careline.core.views import require_page
from careline.reports.compliance import reports
from careline.reports.compliance.forms import ReportForm
from careline.reports.compliance.tables import Report, Table, shown
from careline.reports.exports import csv_response, pdf_response

FORMATS = ("html", "csv", "pdf")
# The page shows this many rows of a table; the CSV has them all.
SCREEN_ROWS = 500
# A printout longer than this is no longer read: it says so and points to the CSV.
PDF_ROWS = 2000


def index(request: HttpRequest) -> HttpResponse:
    if (denied := require_page(request, Perm.COMPLIANCE_VIEW)) is not None:
        return denied
    return render(request, "reports/compliance/index.html", {"kinds": reports.REPORTS.values()})


def _shown_table(table: Table, limit: int) -> dict[str, Any]:
    rows = [
        [shown(value, column) for value, column in zip(row, table.columns, strict=True)]
        for row in table.rows(0, limit)
    ]
    return {"table": table, "rows": rows, "cut": table.total > limit, "limit": limit}


def _links(request: HttpRequest, report: Report) -> dict[str, Any]:
    """The CSV and PDF links of the page: its own filters, and the format."""
    query = request.GET.copy()
    for name in ("format", "table"):
        query.pop(name, None)

    def link(**extra: str) -> str:
        q: QueryDict = query.copy()
        for key, value in extra.items():
            q[key] = value
        return "?" + q.urlencode()

    return {
        "csv": [(t.title, link(format="csv", table=t.name)) for t in report.tables],
        "pdf": link(format="pdf"),
    }


def _refused(
    request: HttpRequest, name: str, exc: CareLineError, form: ReportForm | None
) -> HttpResponse:
    kind = reports.REPORTS.get(name)
    context = {"kind": kind, "form": form, "error": str(exc), "report": None}
    return render(request, "reports/compliance/report.html", context, status=exc.status)


def report_page(request: HttpRequest, name: str) -> HttpResponse | StreamingHttpResponse:
    if (denied := require_page(request, Perm.COMPLIANCE_VIEW)) is not None:
        return denied
    user = signed_in(request)
    fmt = request.GET.get("format") or "html"
    form: ReportForm | None = None
    try:
        kind = reports.kind_of(name)
        form = kind.form(request.GET)
        if fmt not in FORMATS:
            raise InvalidInput(
                f"must be one of {', '.join(FORMATS)} (got {fmt[:20]!r})", field="format"
            )
        report, form = reports.build(user, name, request.GET)
        table = report.table(request.GET.get("table") or report.tables[0].name)
    except reports.FiltersRefused as exc:
        return _refused(request, name, exc, exc.form)
    except CareLineError as exc:
        return _refused(request, name, exc, form)
    if fmt == "csv":
        reports.record_export(user, report, "csv", [table])
        stamp = timezone.localdate().isoformat()
        filename = f"careline-{report.name}-{table.name}-{stamp}.csv"
        return csv_response(filename, [c.key for c in table.columns], table.rows())
    if fmt == "pdf":
        reports.record_export(user, report, "pdf", report.tables)
        context = {
            "title": report.title,
            "report": report,
            "tables": [_shown_table(t, PDF_ROWS) for t in report.tables],
        }
        stamp = timezone.localdate().isoformat()
        return pdf_response(
            f"careline-{report.name}-{stamp}.pdf",
            "reports/compliance/report_pdf.html",
            context,
            request,
        )
    context = {
        "kind": kind,
        "form": form,
        "report": report,
        "tables": [_shown_table(t, SCREEN_ROWS) for t in report.tables],
        "links": _links(request, report),
    }
    return render(request, "reports/compliance/report.html", context)
